export interface Command {
  name: string;
  summary: string;
  /** Full help text shown by `phpasync <name> --help`. */
  help: string;
  /** Returns the exit code. */
  run(argv: string[]): Promise<number>;
}
