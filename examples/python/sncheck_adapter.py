#!/usr/bin/env python3
"""An sncheck-driver/1 adapter in Python, standard library only.

It speaks the protocol of docs/driver-protocol.md on stdin/stdout and logs
to stderr (never a secret). It implements the password and
client_credentials grants; connect with authorization_code answers
invalid_request. See README.md beside this file for the checks it claims.

    sncheck verify -- python3 examples/python/sncheck_adapter.py
    python3 sncheck_adapter.py --page-size 50 --max-retries 3
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

PROTOCOL = "sncheck-driver/1"
MAX_LINE = 16 << 20
STATE_FILE = "python-adapter-token.json"
SECRET_PARAMS = {"access_token", "refresh_token", "client_secret", "password", "code", "code_verifier"}


class Failure(Exception):
    """A failed operation, with a protocol error kind."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def log(msg, **fields):
    parts = [msg] + ["%s=%s" % (k, v) for k, v in fields.items()]
    sys.stderr.write("sncheck-python: " + " ".join(parts) + "\n")
    sys.stderr.flush()


def redact_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return urllib.parse.urlencode([(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in pairs])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """API calls never follow redirects (a login page is not an answer)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def is_html(self):
        return (self.headers.get("Content-Type") or "").strip().lower().startswith("text/html")

    def envelope(self):
        """message and detail of a Table API error body."""
        try:
            err = json.loads(self.body.decode("utf-8")).get("error") or {}
            return err.get("message") or "", err.get("detail") or ""
        except (ValueError, AttributeError):
            return "", ""


def http_call(method, url, body=None, headers=None, timeout=60):
    """One HTTP request; any status comes back as a Response, only network
    failures raise (urllib.error.URLError, OSError)."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    start = time.monotonic()
    parsed = urllib.parse.urlsplit(url)
    try:
        with OPENER.open(req, timeout=timeout) as resp:
            out = Response(resp.status, resp.headers, resp.read(64 << 20))
    except urllib.error.HTTPError as e:
        out = Response(e.code, e.headers, e.read(64 << 20))
    log("request", method=method, path=parsed.path, query=redact_query(parsed.query),
        status=out.status, ms=int((time.monotonic() - start) * 1000))
    return out


class Client:
    def __init__(self, env, page_size, max_retries, backoff):
        self.base = env["SN_INSTANCE_URL"].rstrip("/")
        self.client_id = env.get("SN_CLIENT_ID", "")
        self.client_secret = env.get("SN_CLIENT_SECRET", "")
        self.username = env.get("SN_USERNAME", "")
        self.password = env.get("SN_PASSWORD", "")
        self.grant = env.get("SN_GRANT_TYPE", "")
        self.state_dir = env.get("SN_STATE_DIR", "")
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.lock = threading.Lock()  # guards access, refresh, dead
        self.renew_lock = threading.Lock()  # one renewal at a time (single-flight)
        self.access = None
        self.refresh = None
        self.dead = False
        self.load_state()

    # -- tokens ------------------------------------------------------------

    def identity(self):
        return {"instance_url": self.base, "client_id": self.client_id,
                "grant_type": self.grant, "username": self.username}

    def load_state(self):
        if not self.state_dir:
            return
        try:
            with open(os.path.join(self.state_dir, STATE_FILE), encoding="utf-8") as f:
                st = json.load(f)
        except (OSError, ValueError):
            return
        if all(st.get(k) == v for k, v in self.identity().items()) and st.get("access_token"):
            self.access, self.refresh = st["access_token"], st.get("refresh_token")
            log("reusing kept tokens")

    def save_state(self):
        """Keep the tokens (mode 0600, atomically), or forget them."""
        if not self.state_dir:
            return
        path = os.path.join(self.state_dir, STATE_FILE)
        if self.access is None:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            return
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        st = dict(self.identity(), access_token=self.access, refresh_token=self.refresh)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".python-token-")
        try:
            os.chmod(tmp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(st, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise

    def token_request(self, form):
        """POST the token endpoint; client credentials go in the form body,
        never in the URL."""
        form = dict(form, client_id=self.client_id)
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            resp = http_call("POST", self.base + "/oauth_token.do",
                             body=urllib.parse.urlencode(form).encode("ascii"),
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "Accept": "application/json"})
        except (urllib.error.URLError, OSError) as e:
            raise Failure("transport", "token endpoint: %s" % getattr(e, "reason", e))
        if resp.status == 429:
            raise Failure("rate_limited", "token endpoint: status 429")
        if resp.status >= 500:
            raise Failure("unavailable", "token endpoint: status %d" % resp.status)
        if resp.status // 100 == 2 and resp.is_html():
            raise Failure("unavailable", "token endpoint answered with an HTML page (hibernating?)")
        if resp.status != 200:
            try:
                code = json.loads(resp.body.decode("utf-8")).get("error", "")
            except (ValueError, AttributeError):
                code = ""
            if resp.status == 400 and code not in ("invalid_grant", "invalid_client"):
                raise Failure("invalid_request", "token endpoint: status 400 %s" % code)
            raise Failure("reauth_required", "token endpoint refused: status %d" % resp.status)
        try:
            tok = json.loads(resp.body.decode("utf-8"))
            access = tok["access_token"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Failure("unavailable", "token endpoint gave no usable token")
        return access, tok.get("refresh_token")

    def grant_tokens(self):
        if self.grant == "password":
            return self.token_request({"grant_type": "password", "username": self.username,
                                       "password": self.password})
        if self.grant == "client_credentials":
            return self.token_request({"grant_type": "client_credentials"})
        raise Failure("invalid_request", "this adapter does not implement the %s grant" % self.grant)

    def set_tokens(self, access, refresh, how, fresh=False):
        with self.lock:
            self.access = access
            # Keep whatever refresh token the instance returned; keep the old
            # one only when a renewal returned none.
            if refresh or fresh:
                self.refresh = refresh
            self.dead = False
            self.save_state()
        log("token obtained", how=how, has_refresh_token=bool(self.refresh))

    def connect(self):
        if self.grant not in ("password", "client_credentials"):
            raise Failure("invalid_request", "this adapter does not implement the %s grant" % self.grant)
        with self.lock:
            if self.access and not self.dead:
                return {}
        access, refresh = self.grant_tokens()
        self.set_tokens(access, refresh, self.grant + " grant", fresh=True)
        return {}

    def current(self):
        with self.lock:
            if self.dead:
                raise Failure("reauth_required", "the instance refused the refresh; connect again")
            if not self.access:
                raise Failure("reauth_required", "not connected")
            return self.access

    def renew(self, failed):
        """Replace the access token that failed, once for everyone who saw
        it fail (the lock makes concurrent callers wait and then find the
        new token)."""
        with self.renew_lock:
            with self.lock:
                if self.dead:
                    raise Failure("reauth_required", "the instance refused the refresh; connect again")
                if self.access and self.access != failed:
                    return self.access
                refresh = self.refresh
            try:
                if self.grant == "client_credentials":
                    access, new_refresh = self.token_request({"grant_type": "client_credentials"})
                    how = "client_credentials grant"
                elif refresh:
                    access, new_refresh = self.token_request({"grant_type": "refresh_token",
                                                              "refresh_token": refresh})
                    how = "refresh grant"
                else:
                    access, new_refresh = self.grant_tokens()
                    how = "password grant"
            except Failure as f:
                if f.kind == "reauth_required":
                    with self.lock:
                        self.dead, self.access, self.refresh = True, None, None
                        self.save_state()
                    log("refresh refused; reauthorization required")
                raise
            self.set_tokens(access, new_refresh, how)
            return access

    # -- Table API -----------------------------------------------------------

    def table(self, op, method, path, query=None, body=None):
        """One Table API call with one renewal after a 401 and bounded
        retries of 429 and (never for POST) 5xx."""
        token = self.current()
        idempotent = method in ("GET", "PUT", "PATCH", "DELETE")
        renewed = False
        retries = 0
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        while True:
            headers = {"Accept": "application/json", "Authorization": "Bearer " + token,
                       "User-Agent": "sncheck-python/1"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            try:
                resp = http_call(method, url, body=data, headers=headers)
            except (urllib.error.URLError, OSError) as e:
                if idempotent and retries < self.max_retries:
                    time.sleep(self.backoff * (2 ** retries))
                    retries += 1
                    continue
                raise Failure("transport", "%s: %s" % (op, getattr(e, "reason", e)))
            s = resp.status
            if s // 100 == 2:
                if resp.is_html():
                    raise Failure("unavailable", "%s: the instance answered with an HTML page (hibernating?)" % op)
                return resp
            message, detail = resp.envelope()
            text = "%s: status %d: %s" % (op, s, ": ".join(x for x in (message, detail) if x) or "no message")
            if s == 401:
                if renewed:
                    raise Failure("reauth_required", text)
                token = self.renew(token)
                renewed = True
                continue
            if s == 403:
                if any(x.startswith("Missing required api access scope") for x in (detail, message)):
                    raise Failure("insufficient_scope", text)
                raise Failure("forbidden", text)
            if s == 404:
                raise Failure("not_found", text)
            if s == 429:
                wait = retry_after(resp.headers.get("Retry-After"))
                if retries >= self.max_retries or (wait is not None and wait > 60):
                    raise Failure("rate_limited", text)
                time.sleep(wait if wait is not None else self.backoff * (2 ** retries))
                retries += 1
                continue
            if s >= 500 or s < 400:
                # A POST may have created the record: never send it again.
                if idempotent and s >= 500 and retries < self.max_retries:
                    time.sleep(self.backoff * (2 ** retries))
                    retries += 1
                    continue
                raise Failure("unavailable", text)
            raise Failure("invalid_request", text)

    def result(self, op, resp, want):
        try:
            res = json.loads(resp.body.decode("utf-8"))["result"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Failure("unavailable", "%s: the answer is not the Table API's JSON" % op)
        if not isinstance(res, want):
            raise Failure("unavailable", "%s: unexpected result shape" % op)
        return res

    def list(self, table, query, fields):
        op = "list " + table
        q = {"sysparm_limit": str(self.page_size)}
        if query:
            q["sysparm_query"] = query
        if fields:
            q["sysparm_fields"] = ",".join(fields)
        out, seen, offset = [], set(), 0
        for _ in range(100000):
            q["sysparm_offset"] = str(offset)
            resp = self.table(op, "GET", table_path(table), q)
            for rec in self.result(op, resp, list):
                sid = rec.get("sys_id") if isinstance(rec, dict) else None
                if sid:
                    if sid in seen:
                        continue
                    seen.add(sid)
                out.append(rec)
            # Pages can be short (ACLs drop rows after the limit): the end
            # comes from the Link header or X-Total-Count, never a page size.
            nxt = link_next(resp.headers.get("Link") or "")
            if nxt is None:
                total = resp.headers.get("X-Total-Count")
                if total is None or not total.isdigit() or offset + self.page_size >= int(total):
                    return out
                nxt = offset + self.page_size
            if nxt <= offset:
                return out
            offset = nxt
        raise Failure("unavailable", op + ": too many pages")

    def get(self, table, sys_id):
        op = "get " + table
        return self.result(op, self.table(op, "GET", table_path(table, sys_id)), dict)

    def create(self, table, record):
        op = "create " + table
        return self.result(op, self.table(op, "POST", table_path(table), body=record or {}), dict)

    def update(self, table, sys_id, record):
        op = "update " + table
        return self.result(op, self.table(op, "PATCH", table_path(table, sys_id), body=record or {}), dict)

    def delete(self, table, sys_id):
        self.table("delete " + table, "DELETE", table_path(table, sys_id))
        return {}


def table_path(table, sys_id=None):
    for name in (table, sys_id):
        if name is not None and (not isinstance(name, str) or not name or any(c in name for c in "/?#")):
            raise Failure("invalid_request", "%r is not a name" % (name,))
    p = "/api/now/table/" + urllib.parse.quote(table, safe="")
    if sys_id is not None:
        p += "/" + urllib.parse.quote(sys_id, safe="")
    return p


def link_next(header):
    """sysparm_offset of the Link header's rel="next" entry. Only the offset
    is used: requests stay on the configured instance."""
    for part in header.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' not in params.replace(" ", ""):
            continue
        qs = urllib.parse.parse_qs(urllib.parse.urlsplit(target.strip().strip("<>")).query)
        try:
            off = int(qs["sysparm_offset"][0])
        except (KeyError, ValueError, IndexError):
            return None
        return off if off >= 0 else None
    return None


def retry_after(value):
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def serve(client, stdin, stdout):
    """Answer requests, each in its own thread, until shutdown or EOF."""
    out_lock = threading.Lock()
    threads = []

    def write(answer):
        line = json.dumps(answer, separators=(",", ":"))
        with out_lock:
            stdout.write(line + "\n")
            stdout.flush()

    def handle(req):
        rid = req.get("id", 0)
        try:
            op = req.get("op")
            if op == "connect":
                result = client.connect()
            elif op == "callback":
                raise Failure("invalid_request", "this adapter does not implement the authorization_code grant")
            elif op == "list":
                result = client.list(req.get("table"), req.get("query", ""), req.get("fields") or [])
            elif op == "get":
                result = client.get(req.get("table"), req.get("sys_id"))
            elif op == "create":
                result = client.create(req.get("table"), req.get("record"))
            elif op == "update":
                result = client.update(req.get("table"), req.get("sys_id"), req.get("record"))
            elif op == "delete":
                result = client.delete(req.get("table"), req.get("sys_id"))
            else:
                raise Failure("invalid_request", "unknown op %r" % (op,))
            write({"id": rid, "ok": True, "result": result})
        except Failure as f:
            write({"id": rid, "ok": False, "error": {"kind": f.kind, "message": f.message}})
        except Exception as e:  # a bug here must not kill the adapter
            write({"id": rid, "ok": False, "error": {"kind": "transport", "message": "adapter error: %s" % type(e).__name__}})

    for line in stdin:
        if len(line) > MAX_LINE:
            log("request line too long; ignored")
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except ValueError:
            write({"id": 0, "ok": False, "error": {"kind": "invalid_request", "message": "request is not a JSON object"}})
            continue
        if req.get("op") == "shutdown":
            for t in threads:
                t.join()
            write({"id": req.get("id", 0), "ok": True, "result": {}})
            return
        t = threading.Thread(target=handle, args=(req,), daemon=True)
        t.start()
        threads = [x for x in threads if x.is_alive()] + [t]
    for t in threads:
        t.join()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page-size", type=int, default=100, help="sysparm_limit for lists")
    ap.add_argument("--max-retries", type=int, default=3, help="retries after a 429 or a 5xx")
    ap.add_argument("--backoff", type=float, default=0.2, help="first wait in seconds before retrying a 5xx")
    args = ap.parse_args(argv)
    env = os.environ
    version = env.get("SNCHECK_DRIVER_PROTOCOL", PROTOCOL)
    if version != PROTOCOL:
        sys.stderr.write("sncheck-python: SNCHECK_DRIVER_PROTOCOL=%s; this adapter speaks %s\n" % (version, PROTOCOL))
        return 2
    if not env.get("SN_INSTANCE_URL"):
        sys.stderr.write("sncheck-python: SN_INSTANCE_URL is not set\n")
        return 2
    client = Client(env, max(1, args.page_size), max(0, args.max_retries), max(0.0, args.backoff))
    serve(client, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
