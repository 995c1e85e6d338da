package dev.returnpath.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar returnpath.jar COMMAND}. Exit codes: 0 success, 1 a check found a failure,
 * 2 usage error, 78 configuration error (EX_CONFIG of sysexits.h).
 */
@Command(name = "returnpath", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "SMTP relay that rewrites host-name envelope senders to a domain-aligned Return-Path, "
                + "checks SPF for the outbound IP, and relays upstream.",
        subcommands = {ServeCommand.class, CheckSpfCommand.class, DoctorCommand.class, RewriteTestCommand.class, HealthcheckCommand.class, QueueCommand.class, DkimKeygenCommand.class, PasswdCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_CHECK_FAILED = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_CONFIG = 78;
    /** sysexits' EX_OSERR: a port that cannot be listened on (in use, not our address). */
    public static final int EXIT_OSERR = 71;
    /** sysexits' EX_CANTCREAT: an output file that cannot be created. */
    public static final int EXIT_CANTCREAT = 73;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Only serve logs to stdout; other commands keep stdout for their output. This must
        // happen before the first logger is created.
        boolean serve = args.length > 0 && args[0].equals("serve");
        if (System.getProperty("returnpath.log.target") == null) {
            System.setProperty("returnpath.log.target", serve ? "System.out" : "System.err");
        }
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // invalid input exits 2 (picocli's default); an unexpected exception exits 70 (EX_SOFTWARE)
        cl.setExitCodeExceptionMapper(t -> t instanceof CommandLine.ParameterException ? EXIT_USAGE : 70);
        return cl.execute(args);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"returnpath " + (v == null ? "dev" : v)};
        }
    }
}
