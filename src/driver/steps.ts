// Runs an operation as a list of named steps. Each step may register undo actions as it makes
// objects; when a step fails (or the operation is cancelled between steps) every registered undo
// runs in reverse order, so a failed operation leaves the pool as it found it. Progress is
// reported as a weighted fraction over the steps. Knows nothing of which XAPI calls a step makes.

export interface StepContext {
  /** Registers how to take back something this step just made; runs in reverse on failure. */
  onUndo(label: string, undo: () => Promise<void>): void;
  /** Progress inside the current step, 0..1. */
  progress(fraction: number): void;
  readonly signal: AbortSignal;
}

export interface Step<S> {
  name: string;
  /** Relative share of the operation's progress (default 1). */
  weight?: number;
  /** Skipped when it returns false. */
  when?: (state: S) => boolean;
  run(state: S, ctx: StepContext): Promise<void>;
}

export interface StepRunOptions {
  signal: AbortSignal;
  onProgress?: (fraction: number, step: string) => void;
  onStep?: (step: string) => void;
  /** Told about every undo that failed; the rollback goes on with the next one. */
  onUndoError?: (label: string, err: unknown) => void;
}

export class StepFailure extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly undoErrors: Array<{ label: string; error: unknown }>,
  ) {
    super(`step '${step}' failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'StepFailure';
  }
}

export class OperationCancelled extends Error {
  constructor() {
    super('operation cancelled');
    this.name = 'OperationCancelled';
  }
}

/** Runs the steps in order; on failure rolls back and throws StepFailure (cause = the error). */
export async function runSteps<S>(
  steps: Array<Step<S>>,
  state: S,
  opts: StepRunOptions,
): Promise<void> {
  const undos: Array<{ label: string; undo: () => Promise<void> }> = [];
  const active = steps.filter((s) => !s.when || s.when(state));
  const total = active.reduce((sum, s) => sum + (s.weight ?? 1), 0) || 1;
  let done = 0;
  for (const step of active) {
    const weight = step.weight ?? 1;
    const base = done;
    const ctx: StepContext = {
      onUndo: (label, undo) => undos.push({ label: `${step.name}: ${label}`, undo }),
      progress: (f) =>
        opts.onProgress?.(Math.min(1, (base + weight * clamp(f)) / total), step.name),
      signal: opts.signal,
    };
    try {
      if (opts.signal.aborted) throw new OperationCancelled();
      opts.onStep?.(step.name);
      ctx.progress(0);
      await step.run(state, ctx);
    } catch (err) {
      const undoErrors = await rollback(undos, opts.onUndoError);
      throw new StepFailure(
        step.name,
        opts.signal.aborted ? new OperationCancelled() : err,
        undoErrors,
      );
    }
    done += weight;
    opts.onProgress?.(done / total, step.name);
  }
}

/** How often an undo is tried before it counts as failed, and the first pause between tries
 * (quadrupled each time): a transient XAPI error must not leave what the undo removes. */
export const UNDO_ATTEMPTS = 3;
const UNDO_PAUSE_MS = 100;

/** Runs undo actions newest first, each retried; a failing undo does not stop the others. */
export async function rollback(
  undos: Array<{ label: string; undo: () => Promise<void> }>,
  onUndoError?: (label: string, err: unknown) => void,
): Promise<Array<{ label: string; error: unknown }>> {
  const errors: Array<{ label: string; error: unknown }> = [];
  for (const { label, undo } of undos.reverse()) {
    for (let attempt = 1; ; attempt++) {
      try {
        await undo();
        break;
      } catch (error) {
        if (attempt < UNDO_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, UNDO_PAUSE_MS * 4 ** (attempt - 1)));
          continue;
        }
        errors.push({ label, error });
        onUndoError?.(label, error);
        break;
      }
    }
  }
  return errors;
}

function clamp(f: number): number {
  return Number.isFinite(f) ? Math.max(0, Math.min(1, f)) : 0;
}
