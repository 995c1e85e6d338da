package dev.returnpath.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The users file's check, and the remembered successful checks that spare the slow hash. */
class UsersFileTest {

    private static UsersFile file(Path dir, String name, String password) throws Exception {
        Path f = dir.resolve("users");
        Files.writeString(f, "# apps\n" + name + ":"
                + PasswordHash.create(password.toCharArray(), PasswordHash.MIN_ITERATIONS).text() + "\n");
        return UsersFile.read(f);
    }

    @Test
    void aRememberedPasswordIsAcceptedAgainAndAWrongOneStillRefused(@TempDir Path dir) throws Exception {
        UsersFile users = file(dir, "app", "s3cret-one");
        assertFalse(users.remembers("app"));
        assertEquals(Optional.empty(), users.check("app", "wrong".toCharArray()));
        assertFalse(users.remembers("app"), "a failed check is never remembered");

        assertEquals(Optional.of("app"), users.check("app", "s3cret-one".toCharArray()));
        assertTrue(users.remembers("app"));
        assertEquals(Optional.of("app"), users.check("app", "s3cret-one".toCharArray()));
        assertEquals(Optional.empty(), users.check("app", "s3cret-onE".toCharArray()));
        assertEquals(Optional.empty(), users.check("app", "".toCharArray()));
        assertEquals(Optional.of("app"), users.check("app", "s3cret-one".toCharArray()), "a wrong guess does not evict");
    }

    @Test
    void unknownNamesAreNeitherAcceptedNorRemembered(@TempDir Path dir) throws Exception {
        UsersFile users = file(dir, "app", "pw");
        assertEquals(Optional.empty(), users.check("other", "pw".toCharArray()));
        assertFalse(users.remembers("other"));
    }

    @Test
    void aReloadedFileForgetsWhatTheOldOneRemembered(@TempDir Path dir) throws Exception {
        UsersFile before = file(dir, "app", "old-password");
        assertEquals(Optional.of("app"), before.check("app", "old-password".toCharArray()));
        UsersFile after = file(dir, "app", "new-password");
        assertFalse(after.remembers("app"));
        assertEquals(Optional.empty(), after.check("app", "old-password".toCharArray()));
        assertEquals(Optional.of("app"), after.check("app", "new-password".toCharArray()));
    }
}
