// Sncheck checks that ServiceNow integrations survive what a real instance
// does, and runs fakesn, a faithful fake ServiceNow instance, for offline
// development.
//
// # Usage
//
//	sncheck <command> [flags] [arguments]
//
// The commands are:
//
//	check     check an instance (or the fake) with the instance suite;
//	          sncheck --instance NAME and sncheck --url URL mean check
//	verify    verify an integration with the integration suite:
//	          sncheck verify -- ADAPTER-COMMAND [ARGS...]
//	checks    list every check: ID, suite, labels, statement (--json)
//	diff      compare two runs saved with check or verify --save
//	serve     run the fake ServiceNow instance
//	health    check that a running fake answers (for container health probes)
//	version   print the version
//	help      print the help, or a command's: sncheck help <command>
//
// Check a Personal Developer Instance and its OAuth application (secrets
// from the environment, never flags; read-only unless --allow-writes), save
// what it answered, and compare it with the fake:
//
//	SN_CLIENT_ID=... SN_CLIENT_SECRET=... SN_USERNAME=... SN_PASSWORD=... \
//	    sncheck --instance dev12345 --save live.json
//	sncheck check --save fake.json         # a fresh embedded fake
//	sncheck diff fake.json live.json
//
// The checks are listed in docs/checks.md, and by `sncheck checks`.
//
// Verify an integration through its adapter (docs/driver-protocol.md),
// each check against a fresh fake, and write the reports CI and people
// read (docs/reports.md): JUnit XML, the run as JSON
// (docs/report-schema.json), and an HTML page with each check's token
// timeline. Progress goes to stdout, one line per check; --quiet leaves
// only the summary, --verbose adds the suite's own output. Colour is used
// on a terminal only, never with NO_COLOR set.
//
//	sncheck verify --junit junit.xml --html report.html -- ./my-adapter
//	sncheck verify --grant authorization_code --json run.json -- ./my-adapter
//
// Start the fake for offline development:
//
//	sncheck serve                          # http://127.0.0.1:8080
//	sncheck serve --addr 127.0.0.1:0       # a free port, shown on the first line
//	FAKESN_ADMIN_TOKEN=... sncheck serve --addr 0.0.0.0:8080
//
// The first line sncheck serve writes is exactly
// "sncheck serve: listening on http://HOST:PORT"; the lines after it give
// the token endpoint, the control API and the credentials to use. Every
// serve flag has a FAKESN_* environment variable (a flag wins); see
// `sncheck serve -h` and docs/configuration.md.
//
// Probe a running fake, for example from a container's health check:
//
//	sncheck health http://127.0.0.1:8080
//
// # Exit codes
//
//	0  success: the command did its job, and every check passed
//	1  runtime error: the command could not do its job (for example the
//	   port is taken, or the fake is not healthy)
//	2  usage error: a wrong flag, argument or FAKESN_* variable; the
//	   message ends with "run 'sncheck help' for usage"
//	3  checks failed: the command ran and some checks did not pass
//
// Usage errors print one line and a pointer to the help; the full usage
// appears only with -h or `sncheck help`.
package main
