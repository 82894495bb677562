// The VM operation rules as xapi applies them: allowed power states per operation, the check
// order (blocked -> power state -> concurrency -> template -> snapshot -> ...), the advisory
// allowed_operations list, and the with-operation wrapper that publishes current_operations.
// Plus the small record helpers every lifecycle file shares. No message is defined here.
import { XapiFault } from '../engine/fault';
import type { CallContext } from '../engine/registry';
import { NULL_REF, formatDateTime, newRef, type Rec, type Store } from '../engine/store';
import type { XapiClass } from '../../xapi/datamodel.generated';

export type PowerState = 'Halted' | 'Paused' | 'Running' | 'Suspended';
const ALL_STATES: PowerState[] = ['Halted', 'Paused', 'Suspended', 'Running'];

/** Which power states an operation accepts (xapi's allowed_power_states), in xapi's order. */
export function allowedPowerStates(op: string, vmRec: Rec): PowerState[] {
  switch (op) {
    case 'import':
      return [];
    case 'changing_VCPUs':
    case 'changing_static_range':
    case 'changing_memory_limits':
      return vmRec.is_control_domain ? ['Halted', 'Running'] : ['Halted'];
    case 'changing_shadow_memory':
    case 'make_into_template':
    case 'provision':
    case 'start':
    case 'start_on':
    case 'changing_NVRAM':
    case 'create_vtpm':
      return ['Halted'];
    case 'unpause':
      return ['Paused'];
    case 'csvm':
    case 'resume':
    case 'resume_on':
      return ['Suspended'];
    case 'awaiting_memory_live':
    case 'call_plugin':
    case 'clean_reboot':
    case 'clean_shutdown':
    case 'changing_memory_live':
    case 'changing_shadow_memory_live':
    case 'changing_VCPUs_live':
    case 'data_source_op':
    case 'pause':
    case 'pool_migrate':
    case 'send_sysrq':
    case 'send_trigger':
    case 'snapshot_with_quiesce':
    case 'sysprep':
    case 'suspend':
      return ['Running'];
    case 'changing_dynamic_range':
      return ['Halted', 'Running'];
    case 'clone':
    case 'copy':
      return vmRec.is_a_snapshot ? ['Halted', 'Suspended'] : ['Halted'];
    case 'create_template':
    case 'destroy':
    case 'export':
      return ['Halted', 'Suspended'];
    case 'hard_reboot':
      return ['Paused', 'Running'];
    case 'checkpoint':
    case 'get_boot_record':
    case 'shutdown':
    case 'hard_shutdown':
      return ['Paused', 'Suspended', 'Running'];
    case 'migrate_send':
      return ['Halted', 'Suspended', 'Running'];
    default:
      return ALL_STATES;
  }
}

const CONCURRENT_GROUPS: string[][] = [
  ['snapshot', 'checkpoint'],
  ['clone', 'copy', 'export'],
  ['get_boot_record'],
];

/** xapi's is_allowed_concurrently: may `op` start while `current` operations run? */
export function isAllowedConcurrently(op: string, current: string[]): boolean {
  if (CONCURRENT_GROUPS.some((g) => g.includes(op) && current.every((c) => g.includes(c))))
    return true;
  if (op === 'hard_shutdown') return !current.includes('hard_shutdown');
  if (op === 'hard_reboot')
    return !current.some((c) => c === 'hard_shutdown' || c === 'hard_reboot');
  return false;
}

const TEMPLATE_OPS = [
  'changing_dynamic_range',
  'changing_static_range',
  'changing_memory_limits',
  'changing_shadow_memory',
  'changing_VCPUs',
  'changing_NVRAM',
  'clone',
  'copy',
  'create_vtpm',
  'export',
  'metadata_export',
  'provision',
];
const SNAPSHOT_OPS = [
  'revert',
  'clone',
  'copy',
  'export',
  'destroy',
  'hard_shutdown',
  'metadata_export',
];
const IMMOBILE_OPS = ['suspend', 'checkpoint', 'pool_migrate', 'migrate_send'];
const DOM0_OPS = [
  'changing_VCPUs',
  'changing_static_range',
  'changing_memory_limits',
  'changing_dynamic_range',
];

export function isDefaultTemplate(vmRec: Rec): boolean {
  const oc = vmRec.other_config as Record<string, string>;
  return vmRec.is_default_template === true || oc.default_template === 'true';
}

type OpError = [code: string, params: string[]];

/** The first failing check for `op` on the VM, in xapi's order, as [code, params] (cheap: no Error). */
export function operationError(vmRef: string, vmRec: Rec, op: string): OpError | undefined {
  const blocked = (vmRec.blocked_operations as Record<string, string>)[op];
  if (blocked !== undefined) return ['OPERATION_BLOCKED', [vmRef, blocked]];
  const power = vmRec.power_state as PowerState;
  const states = allowedPowerStates(op, vmRec);
  if (!states.includes(power)) {
    const expected = states.map((s) => s.toLowerCase()).join(', ');
    return ['VM_BAD_POWER_STATE', [vmRef, expected, power.toLowerCase()]];
  }
  const current = Object.entries(vmRec.current_operations as Record<string, string>);
  if (
    current.length > 0 &&
    !isAllowedConcurrently(
      op,
      current.map(([, o]) => o),
    )
  ) {
    const [taskRefs, ops] =
      current.length === 1
        ? [current[0][0], current[0][1]]
        : [`{${current.map(([t]) => t).join(',')}}`, `{${current.map(([, o]) => o).join(',')}}`];
    return ['OTHER_OPERATION_IN_PROGRESS', ['VM', vmRef, ops, taskRefs]];
  }
  const isTemplate = vmRec.is_a_template === true;
  const isSnapshot = vmRec.is_a_snapshot === true;
  if (isTemplate && !isSnapshot && !TEMPLATE_OPS.includes(op)) {
    const exempt = (op === 'destroy' || op === 'migrate_send') && !isDefaultTemplate(vmRec);
    if (!exempt) return ['VM_IS_TEMPLATE', [vmRef, op]];
  }
  if (isSnapshot && !SNAPSHOT_OPS.includes(op)) return ['VM_IS_SNAPSHOT', [vmRef, op]];
  if (op === 'provision' && !isTemplate) return ['PROVISION_ONLY_ALLOWED_ON_TEMPLATE', []];
  if (op === 'revert' && !isSnapshot) return ['REVERT_ONLY_ALLOWED_ON_SNAPSHOT', []];
  const platform = vmRec.platform as Record<string, string>;
  if (
    IMMOBILE_OPS.includes(op) &&
    (platform.nomigrate === 'true' || platform['nested-virt'] === 'true')
  ) {
    return ['VM_IS_IMMOBILE', [vmRef]];
  }
  if (vmRec.is_control_domain === true && !DOM0_OPS.includes(op)) {
    return ['OPERATION_NOT_ALLOWED', ['This operation is not allowed on dom0']];
  }
  return undefined;
}

/** The first failing check for `op` on the VM, in xapi's order, or undefined when allowed. */
export function checkOperation(vmRef: string, vmRec: Rec, op: string): XapiFault | undefined {
  const err = operationError(vmRef, vmRec, op);
  return err ? new XapiFault(err[0], err[1]) : undefined;
}

export function assertOperation(vmRef: string, vmRec: Rec, op: string): void {
  const fault = checkOperation(vmRef, vmRec, op);
  if (fault) throw fault;
}

/** The operations allowed_operations is computed over (the ones a real host lists). */
const ADVERTISED_OPS = [
  'changing_dynamic_range',
  'changing_shadow_memory',
  'changing_static_range',
  'make_into_template',
  'migrate_send',
  'destroy',
  'export',
  'start_on',
  'start',
  'clone',
  'copy',
  'provision',
  'pool_migrate',
  'changing_VCPUs_live',
  'suspend',
  'resume',
  'resume_on',
  'pause',
  'unpause',
  'hard_reboot',
  'hard_shutdown',
  'clean_reboot',
  'clean_shutdown',
  'revert',
  'checkpoint',
  'snapshot',
];

export function computeAllowedOperations(vmRef: string, vmRec: Rec): string[] {
  return ADVERTISED_OPS.filter((op) => operationError(vmRef, vmRec, op) === undefined);
}

/** Recompute VM.allowed_operations; emits a `mod` only when the list changed. */
export function updateAllowedOperations(store: Store, vmRef: string): void {
  const vmRec = store.find('VM', vmRef);
  if (!vmRec) return;
  const next = computeAllowedOperations(vmRef, vmRec);
  const prev = vmRec.allowed_operations as string[];
  if (prev.length === next.length && prev.every((op, i) => op === next[i])) return;
  store.update('VM', vmRef, { allowed_operations: next });
}

/**
 * xapi's with_vm_operation: check `op`, publish current_operations[task] = op (recomputing
 * allowed_operations), run `fn`, then withdraw the entry whatever happened.
 */
export async function withVmOperation<T>(
  ctx: CallContext,
  vmRef: string,
  op: string,
  fn: (vmRec: Rec) => Promise<T> | T,
): Promise<T> {
  const { store } = ctx;
  const vmRec = store.get('VM', vmRef);
  assertOperation(vmRef, vmRec, op);
  // The master forwards operations on a resident VM to its host: a dead host cannot answer.
  // power_state_reset is how an administrator recovers such a VM, so it goes through.
  const resident = vmRec.resident_on as string;
  if (
    op !== 'power_state_reset' &&
    !isNull(resident) &&
    ctx.sim.hosts.some((h) => h.ref === resident && !h.online)
  ) {
    throw new XapiFault('HOST_OFFLINE', [resident]);
  }
  const taskRef = ctx.task?.ref ?? newRef();
  store.update('VM', vmRef, {
    current_operations: { ...(vmRec.current_operations as Rec), [taskRef]: op },
  });
  updateAllowedOperations(store, vmRef);
  try {
    return await fn(vmRec);
  } finally {
    const rec = store.find('VM', vmRef);
    if (rec) {
      const ops = { ...(rec.current_operations as Rec) };
      delete ops[taskRef];
      store.update('VM', vmRef, { current_operations: ops });
      updateAllowedOperations(store, vmRef);
    }
  }
}

// ---- shared record helpers ------------------------------------------------------------------

export { NULL_REF };

export function isNull(ref: unknown): boolean {
  return (
    typeof ref !== 'string' ||
    ref === '' ||
    ref === NULL_REF ||
    ref === 'Null' ||
    !ref.startsWith('OpaqueRef:')
  );
}

export function now(): string {
  return formatDateTime();
}

/** Add `value` to the ref-set field of (cls, ref), if that object exists. */
export function linkRef(
  store: Store,
  cls: XapiClass,
  ref: string,
  field: string,
  value: string,
): void {
  const rec = store.find(cls, ref);
  if (!rec) return;
  const set = rec[field] as string[];
  if (set.includes(value)) return;
  store.update(cls, ref, { [field]: [...set, value] });
}

/** Remove `value` from the ref-set field of (cls, ref), if that object exists. */
export function unlinkRef(
  store: Store,
  cls: XapiClass,
  ref: string,
  field: string,
  value: string,
): void {
  const rec = store.find(cls, ref);
  if (!rec) return;
  const set = rec[field] as string[];
  if (!set.includes(value)) return;
  store.update(cls, ref, { [field]: set.filter((r) => r !== value) });
}

/** A map-valued field with one key set/removed (new object, as the store wants). */
export function withKey(
  map: unknown,
  key: string,
  value: string | undefined,
): Record<string, string> {
  const out = { ...(map as Record<string, string>) };
  if (value === undefined) delete out[key];
  else out[key] = value;
  return out;
}

/** The int an RPC argument carries (ints may arrive as numbers, bigints or strings). */
export function toInt(v: unknown, field: string): number {
  const n = typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? Number(v) : (v as number);
  if (typeof n !== 'number' || !Number.isFinite(n))
    throw new XapiFault('INVALID_VALUE', [field, String(v)]);
  return n;
}
