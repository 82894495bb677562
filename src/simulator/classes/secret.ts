// XAPI's secret objects, which the generated datamodel tables do not carry: a value behind a uuid.
// As xapi does (xapi_secret.ml), a device_config key ending in `password` given to PBD.create or
// SR.create becomes `<key>_secret` naming a new secret, the storage manager reads it back, and
// destroying the PBD destroys its secrets. Holds per pool only uuid -> value; touches no record.
import { randomUUID } from 'node:crypto';
import { XapiFault } from '../engine/fault';
import { defineMessage } from '../engine/registry';
import type { Rec, Store } from '../engine/store';

interface Secret {
  ref: string;
  value: string;
}

const pools = new WeakMap<Store, Map<string, Secret>>();

/** The secrets of one pool (per Store), by uuid. */
export function secretsOf(store: Store): Map<string, Secret> {
  let m = pools.get(store);
  if (!m) {
    m = new Map();
    pools.set(store, m);
  }
  return m;
}

function createSecret(store: Store, value: string): string {
  const uuid = randomUUID();
  secretsOf(store).set(uuid, { ref: `OpaqueRef:${randomUUID()}`, value });
  return uuid;
}

/** xapi's move_passwds_to_secrets: `xpassword` -> `xpassword_secret` = a new secret's uuid. */
export function movePasswordsToSecrets(store: Store, config: Rec): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(config ?? {}))
    if (k.endsWith('password')) out[`${k}_secret`] = createSecret(store, String(v));
    else out[k] = v;
  return out;
}

/** xapi's clean_out_passwds: the secrets a `*password_secret` key names are destroyed. */
export function cleanOutSecrets(store: Store, config: Rec): void {
  for (const [k, v] of Object.entries(config ?? {}))
    if (k.endsWith('password_secret')) secretsOf(store).delete(String(v));
}

/** A password of a device_config as the storage manager reads it (util.get_secret). */
export function configPassword(store: Store, config: Rec, key: string): string | undefined {
  const plain = config[key];
  if (plain !== undefined) return String(plain);
  const uuid = config[`${key}_secret`];
  return uuid === undefined ? undefined : secretsOf(store).get(String(uuid))?.value;
}

function byRef(store: Store, ref: string): [string, Secret] {
  for (const entry of secretsOf(store)) if (entry[1].ref === ref) return entry;
  throw new XapiFault('HANDLE_INVALID', ['secret', ref]);
}

export function registerSecretMessages(): void {
  defineMessage(
    'secret.create',
    (ctx, [rec]) => {
      const uuid = createSecret(ctx.store, String((rec as Rec).value ?? ''));
      return secretsOf(ctx.store).get(uuid)!.ref;
    },
    [[['args', 'secret record', true]], 'secret ref', false, true],
  );
  defineMessage(
    'secret.get_by_uuid',
    (ctx, [uuid]) => {
      const s = secretsOf(ctx.store).get(String(uuid));
      if (!s) throw new XapiFault('UUID_INVALID', ['secret', String(uuid)]);
      return s.ref;
    },
    [[['uuid', 'string', true]], 'secret ref', false, true],
  );
  defineMessage('secret.get_value', (ctx, [ref]) => byRef(ctx.store, ref)[1].value, [
    [['self', 'secret ref', true]],
    'string',
    false,
    true,
  ]);
  defineMessage('secret.get_uuid', (ctx, [ref]) => byRef(ctx.store, ref)[0], [
    [['self', 'secret ref', true]],
    'string',
    false,
    true,
  ]);
  defineMessage(
    'secret.destroy',
    (ctx, [ref]) => {
      secretsOf(ctx.store).delete(byRef(ctx.store, ref)[0]);
    },
    [[['self', 'secret ref', true]], 'void', false, true],
  );
}
