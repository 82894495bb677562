// Tasks: the records behind Async.<message> calls (pending -> success/failure/cancelled with
// moving progress, result serialized as xapi does, error_info), the work() clock handlers spend
// time with, task.cancel/destroy, and expiry of finished tasks. It runs handlers it is given;
// it does not decide which messages exist or how they behave.
import { XapiFault, toFault } from './fault';
import { defineMessage, type CallContext } from './registry';
import { formatDateTime, type Store } from './store';

export interface TaskOptions {
  /** Finished tasks are destroyed after this long (xapi: 65 min). */
  ttlMs: number;
  /** task.result text of a value of a datamodel type: xapi keeps it as XML-RPC on both wires. */
  formatResult(value: unknown, type: string): string;
}

export class TaskManager {
  private destroyRequested = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly store: Store,
    private readonly opts: TaskOptions,
  ) {}

  create(nameLabel: string, description: string, residentOn: string): string {
    return this.store.create('task', {
      name_label: nameLabel,
      name_description: description,
      status: 'pending',
      progress: 0,
      created: formatDateTime(),
      finished: '19700101T00:00:00Z',
      allowed_operations: ['cancel'],
      resident_on: residentOn,
      type: '<none/>',
      result: '',
      error_info: [],
    });
  }

  isCancelling(taskRef: string): boolean {
    return this.store.find('task', taskRef)?.status === 'cancelling';
  }

  progressOf(taskRef: string): number {
    return Number(this.store.find('task', taskRef)?.progress ?? 0);
  }

  setProgress(taskRef: string, progress: number): void {
    const t = this.store.find('task', taskRef);
    if (t && t.status === 'pending')
      this.store.update('task', taskRef, { progress: Math.min(1, Math.max(0, progress)) });
  }

  /** Run `fn` as the body of task `taskRef`, recording its outcome. */
  async run(taskRef: string, resultType: string, fn: () => unknown): Promise<void> {
    let patch: Record<string, unknown>;
    try {
      const value = await fn();
      patch = {
        status: 'success',
        result: this.opts.formatResult(value, resultType),
        error_info: [],
      };
    } catch (err) {
      const f = toFault(err);
      patch = {
        status: f.code === 'TASK_CANCELLED' ? 'cancelled' : 'failure',
        error_info: f.toErrorDescription(),
        result: '',
      };
    }
    if (!this.store.has('task', taskRef)) return; // gone with a restart
    this.store.update('task', taskRef, {
      ...patch,
      progress: 1,
      finished: formatDateTime(),
      allowed_operations: [],
    });
    if (this.destroyRequested.delete(taskRef)) {
      this.store.destroy('task', taskRef);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.store.has('task', taskRef)) this.store.destroy('task', taskRef);
    }, this.opts.ttlMs);
    timer.unref();
    this.timers.add(timer);
  }

  cancel(taskRef: string): void {
    const t = this.store.get('task', taskRef);
    const ops = (t.allowed_operations ?? []) as string[];
    if (t.status !== 'pending' || !ops.includes('cancel')) {
      throw new XapiFault('OPERATION_NOT_ALLOWED', [
        `Task ${taskRef} cannot be cancelled in state ${String(t.status)}`,
      ]);
    }
    this.store.update('task', taskRef, { status: 'cancelling', allowed_operations: [] });
  }

  destroy(taskRef: string): void {
    const t = this.store.get('task', taskRef);
    if (t.status === 'pending' || t.status === 'cancelling') this.destroyRequested.add(taskRef);
    else this.store.destroy('task', taskRef);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * The work() of a call context: sleep ms * timeScale in a few steps, moving the task's progress
 * towards progressTo, and throw TASK_CANCELLED when the task was cancelled meanwhile.
 */
export function makeWork(
  tasks: TaskManager,
  timeScale: () => number,
  taskRef: string | undefined,
  alive: () => boolean,
): (ms: number, progressTo?: number) => Promise<void> {
  return async (ms, progressTo = 0.9) => {
    const total = Math.max(0, ms * timeScale());
    const steps = taskRef ? Math.max(1, Math.min(5, Math.ceil(total / 20))) : 1;
    const start = taskRef ? tasks.progressOf(taskRef) : 0;
    for (let i = 1; i <= steps; i++) {
      if (total > 0) await new Promise((r) => setTimeout(r, total / steps).unref());
      if (!alive()) throw new XapiFault('INTERNAL_ERROR', ['The toolstack restarted']);
      if (taskRef) {
        if (tasks.isCancelling(taskRef)) throw new XapiFault('TASK_CANCELLED', [taskRef]);
        if (progressTo > start)
          tasks.setProgress(taskRef, start + ((progressTo - start) * i) / steps);
      }
    }
  };
}

export function tasksOf(ctx: CallContext): TaskManager {
  return ctx.sim.extra.tasks as TaskManager;
}

export function registerTaskMessages(): void {
  defineMessage('task.cancel', (ctx, [task]) => tasksOf(ctx).cancel(task as string));
  defineMessage('task.destroy', (ctx, [task]) => tasksOf(ctx).destroy(task as string));
  defineMessage('task.create', (ctx, [label, description]) =>
    tasksOf(ctx).create(label as string, description as string, ctx.sim.masterRef()),
  );
}
