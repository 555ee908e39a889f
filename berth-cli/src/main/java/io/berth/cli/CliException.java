package io.berth.cli;

/** An error found by berthctl itself (bad arguments, a missing file): printed as {@code berthctl: message}. */
final class CliException extends RuntimeException {

    CliException(String format, Object... args) {
        super(args.length == 0 ? format : String.format(format, args));
    }

    CliException(Throwable cause, String format, Object... args) {
        super(args.length == 0 ? format : String.format(format, args), cause);
    }
}
