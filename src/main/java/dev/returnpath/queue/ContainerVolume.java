package dev.returnpath.queue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Tells whether the spool lies on a container's own root filesystem, which is thrown away when
 * the container is recreated (the queue of bokysan/docker-postfix#60, lost the same way).
 *
 * <p>The spool's filesystem is the mount in {@code /proc/self/mountinfo} whose mount point is
 * the longest prefix of the spool's real path. It is the container's root when that mount point
 * is {@code /} and its type is {@code overlay} (Docker, Podman and containerd all build the root
 * that way), and the process runs in a container: {@code /.dockerenv} or
 * {@code /run/.containerenv} exists, the environment says so ({@code container},
 * {@code KUBERNETES_SERVICE_HOST}) or PID 1's cgroup names a container runtime.
 */
public final class ContainerVolume {
    private ContainerVolume() {}

    /** A warning to log at start, or empty when the spool is on a volume (or not in a container). */
    public static Optional<String> warning(Path spool) {
        try {
            Path real = spool.toRealPath();
            String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
            if (!onOverlayRoot(mountinfo, real.toString())) {
                return Optional.empty();
            }
            if (!inContainer(System.getenv(), readQuietly(Path.of("/proc/1/cgroup")),
                    Files.exists(Path.of("/.dockerenv")) || Files.exists(Path.of("/run/.containerenv")))) {
                return Optional.empty();
            }
            return Optional.of("queue.dir \"" + spool + "\" is on the container's own root filesystem (overlay): "
                    + "spooled mail is lost when the container is recreated. Mount a volume there, e.g. "
                    + "-v returnpath-spool:" + real + " (docker/podman) or a PersistentVolumeClaim (Kubernetes)");
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // not Linux, or no /proc: nothing to say
        }
    }

    /** True when the mount holding {@code realPath} is {@code /} with filesystem type overlay. */
    static boolean onOverlayRoot(String mountinfo, String realPath) {
        String bestPoint = null;
        String bestType = null;
        for (String line : mountinfo.split("\n")) {
            String[] f = line.trim().split(" ");
            int dash = indexOf(f, "-");
            if (f.length < 5 || dash < 0 || dash + 1 >= f.length) {
                continue;
            }
            String point = unescape(f[4]);
            if (covers(point, realPath) && (bestPoint == null || point.length() >= bestPoint.length())) {
                bestPoint = point; // a later mount on the same point hides an earlier one
                bestType = f[dash + 1];
            }
        }
        return "/".equals(bestPoint) && "overlay".equals(bestType);
    }

    static boolean inContainer(Map<String, String> env, String pid1Cgroup, boolean markerFile) {
        if (markerFile || env.containsKey("container") || env.containsKey("KUBERNETES_SERVICE_HOST")) {
            return true;
        }
        return pid1Cgroup.matches("(?s).*(docker|kubepods|containerd|libpod|lxc).*");
    }

    private static boolean covers(String mountPoint, String path) {
        if (mountPoint.equals("/")) {
            return true;
        }
        return path.equals(mountPoint) || path.startsWith(mountPoint + "/");
    }

    private static int indexOf(String[] f, String s) {
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals(s)) {
                return i;
            }
        }
        return -1;
    }

    /** mountinfo writes space, tab, newline and backslash as octal escapes ({@code \040}). */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
