# The fake as a container image. No base image can be pulled where this is
# built, so the image is FROM scratch around a static binary; `make image`
# stages the context (out/image/: sncheck built with CGO_ENABLED=0, and the
# host's CA bundle so `sncheck check --instance` can verify TLS).
FROM scratch
COPY sncheck /sncheck
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65534:65534
EXPOSE 8080
# serve listens beyond loopback here, so it refuses to start without
# FAKESN_ADMIN_TOKEN: the control API must never be open on a network.
ENV FAKESN_ADDR=0.0.0.0:8080
HEALTHCHECK --interval=2s --timeout=2s --retries=3 CMD ["/sncheck", "health", "http://127.0.0.1:8080"]
ENTRYPOINT ["/sncheck"]
CMD ["serve"]
