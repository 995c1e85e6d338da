package dev.returnpath.queue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ContainerVolumeTest {
    /** A Docker container with a named volume on /var/spool/returnpath, trimmed from a real mountinfo. */
    static final String DOCKER = """
            1187 1041 0:94 / / rw,relatime master:520 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/123/diff,workdir=/var/lib/docker/overlay2/123/work
            1188 1187 0:97 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
            1201 1187 254:1 /var/lib/docker/volumes/returnpath-spool/_data /var/spool/returnpath rw,relatime master:1 - ext4 /dev/vda1 rw
            1202 1187 254:1 /var/lib/docker/containers/abc/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda1 rw
            1203 1187 254:1 /home/me/my\\040conf /etc/return\\040path rw,relatime - ext4 /dev/vda1 rw
            """;

    @ParameterizedTest(name = "{0} on the container root: {1}")
    @CsvSource(textBlock = """
            /var/spool/returnpath,        false
            /var/spool/returnpath/queue,  false
            /var/spool/returnpath2,       true
            /var/spool,                   true
            /app/spool,                   true
            /etc/return path/spool,       false
            """)
    void spoolOnTheOverlayRootIsFound(String path, boolean onRoot) {
        assertThat(ContainerVolume.onOverlayRoot(DOCKER, path)).isEqualTo(onRoot);
    }

    @Test
    void aHostWhoseRootIsNotOverlayIsNeverWarned() {
        String host = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n22 27 0:21 / /proc rw,relatime - proc proc rw\n";
        assertThat(ContainerVolume.onOverlayRoot(host, "/srv/spool")).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            docker marker file       | true  | ''                                   | ''       | true
            podman env               | false | container=podman                     | ''       | true
            kubernetes env           | false | KUBERNETES_SERVICE_HOST=10.0.0.1     | ''       | true
            cgroup v1 docker         | false | ''                                   | 12:pids:/docker/abc | true
            cgroup kubepods          | false | ''                                   | 0::/kubepods/besteffort/pod1 | true
            plain host               | false | PATH=/usr/bin                        | 0::/init.scope | false
            """)
    void containersAreRecognised(String what, boolean marker, String env, String cgroup, boolean expected) {
        Map<String, String> vars = env.isEmpty() ? Map.of() : Map.of(env.split("=")[0], env.split("=")[1]);
        assertThat(ContainerVolume.inContainer(vars, cgroup, marker)).isEqualTo(expected);
    }
}
