# returnpath as a container: the relay next to the app (a second container in the Compose
# project or in the Kubernetes pod), listening on 2525, management (healthz/readyz/metrics) on 8025.
#
#   docker build -t returnpath .
#   docker run -d -p 127.0.0.1:2525:2525 -v ./returnpath.conf:/etc/returnpath/returnpath.conf:ro \
#     -v returnpath-spool:/var/spool/returnpath returnpath
#
# Without a Docker engine:
#   podman build --isolation=chroot --format docker -t returnpath .

# ---- build: the runnable jar --------------------------------------------------------------------
FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /build
# Dependencies first, so that a source change does not download them again.
COPY pom.xml ./
RUN mvn -B -q dependency:go-offline >/dev/null 2>&1 || true
COPY src ./src
RUN mvn -B package -DskipTests && cp target/returnpath.jar /returnpath.jar

# ---- runtime ----------------------------------------------------------------------------------
FROM eclipse-temurin:25-jre
# A system user of its own; uid/gid 2525 so that a mounted spool volume can be chowned to it.
RUN groupadd --system --gid 2525 returnpath \
 && useradd --system --uid 2525 --gid returnpath --home-dir /var/spool/returnpath \
      --no-create-home --shell /usr/sbin/nologin returnpath \
 && mkdir -p /opt/returnpath /etc/returnpath /var/spool/returnpath \
 && chown returnpath:returnpath /var/spool/returnpath
COPY --from=build /returnpath.jar /opt/returnpath/returnpath.jar
# The shipped, commented configuration; mount your own file (or a ConfigMap) over it.
COPY conf/returnpath.conf /etc/returnpath/returnpath.conf

# Start-up: an AOT cache (JDK 25, JEP 483/514) recorded from a training run of serve (start,
# one SMTP session, SIGTERM) with the ENTRYPOINT's flags. It roughly halves the time to
# listening; a JVM that cannot use it (other flags, other JDK) says so and starts without it.
RUN bash -c 'set -e; flags=(-XX:+UseSerialGC -XX:MaxRAMPercentage=35 -XX:MinRAMPercentage=35 -XX:InitialRAMPercentage=5 -Xss512k \
      -XX:ReservedCodeCacheSize=24m -XX:MaxMetaspaceSize=128m -XX:TrimNativeHeapInterval=2000); \
    printf "%s\n" "returnpath {" "hostname = \"train.invalid\"" "listen { host = \"127.0.0.1\", port = 42525 }" \
      "domains { \"example.com\" { return-path = \"bounce@example.com\" } }" \
      "delivery { mode = smarthost, smarthost { host = \"127.0.0.1\", port = 9, tls = none }, connect-timeout = 1s }" \
      "queue.dir = \"/tmp/train-spool\"" "management.port = 0" "}" > /tmp/train.conf; \
    java "${flags[@]}" -XX:AOTCacheOutput=/opt/returnpath/returnpath.aot -jar /opt/returnpath/returnpath.jar \
      serve --config /tmp/train.conf > /tmp/train.log 2>&1 & pid=$!; \
    for i in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/42525) 2>/dev/null && break; sleep 0.1; done; \
    exec 3<>/dev/tcp/127.0.0.1/42525; \
    printf "EHLO web01.internal\r\nMAIL FROM:<apache@web01.internal>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n" >&3; sleep 1; \
    printf "From: <noreply@example.com>\r\nSubject: training\r\n\r\nbody\r\n.\r\nQUIT\r\n" >&3; \
    timeout 10 cat <&3 >/dev/null || true; exec 3<&-; \
    kill -TERM $pid; wait $pid || true; rm -rf /tmp/train.conf /tmp/train-spool; \
    tail -n 2 /tmp/train.log; rm -f /tmp/train.log; test -s /opt/returnpath/returnpath.aot'

# Inside a container the relay must listen on every interface (the app reaches it through the
# pod's or the Compose network); outside, loopback stays the default. reference.conf reads these.
ENV RETURNPATH_LISTEN_HOST=0.0.0.0 \
    RETURNPATH_MANAGEMENT_HOST=0.0.0.0 \
    RETURNPATH_QUEUE_DIR=/var/spool/returnpath
# glibc keeps an arena per thread that allocates (up to 8 per core); two are plenty for a
# relay whose sessions are virtual threads, and each arena left out is resident memory saved.
ENV MALLOC_ARENA_MAX=2

# Sidecar JVM: container-aware (the default), heap 35% of the container's memory limit (Min as
# well as Max: under 192 MiB the JVM would otherwise take half, under 274 MiB at least 96 MiB),
# Serial GC (one or two cores, small heap: the least overhead), small thread stacks
# (virtual threads carry the sessions), the C library's freed memory given back to the system
# every 2 s (the compilers' arenas: about 23 MiB at idle), and exit rather than limp on after an
# OutOfMemoryError.
ENTRYPOINT ["java", "-XX:+UseSerialGC", "-XX:MaxRAMPercentage=35", "-XX:MinRAMPercentage=35", "-XX:InitialRAMPercentage=5", \
            "-Xss512k", "-XX:ReservedCodeCacheSize=24m", "-XX:MaxMetaspaceSize=128m", \
            "-XX:TrimNativeHeapInterval=2000", \
            "-XX:+ExitOnOutOfMemoryError", "-XX:AOTCache=/opt/returnpath/returnpath.aot", \
            "-jar", "/opt/returnpath/returnpath.jar"]
CMD ["serve", "--config", "/etc/returnpath/returnpath.conf"]

USER returnpath:returnpath
WORKDIR /var/spool/returnpath
VOLUME /var/spool/returnpath
EXPOSE 2525 8025

# No curl in the image: the jar itself opens an SMTP session with the listener (a 220 greeting
# naming the relay's hostname, EHLO, QUIT). It reads the configuration the relay runs with (the
# --config of serve, process 1) in the container's environment, so listen.port and hostname are
# the relay's own, whatever CMD or the mounted file say.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["java", "-XX:+UseSerialGC", "-Xmx32m", "-XX:TieredStopAtLevel=1", "-Xshare:auto", \
       "-jar", "/opt/returnpath/returnpath.jar", "healthcheck"]
