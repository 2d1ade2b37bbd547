import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** SHA-256 hex: how API keys, device tokens and claim secrets are stored and looked up. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A random secret with a readable prefix (ak_ = API key, dt_ = device token, cs_ = claim secret). */
export function newSecret(prefix: 'ak_' | 'dt_' | 'cs_'): string {
  return prefix + randomBytes(24).toString('hex');
}

export interface DataDirSecrets {
  signingKey: Uint8Array;
  adminKey: string;
  adminKeySource: 'env' | 'admin_file';
  adminKeyPath: string;
  /** True when this start created admin.key (the first start). */
  createdAdminKey: boolean;
}

function readOrCreate(path: string, create: () => string): { value: string; created: boolean } {
  if (existsSync(path)) {
    const value = readFileSync(path, 'utf8').trim();
    if (value.length < 16) throw new Error(`${path} is empty or too short; delete it to create a new one`);
    chmodSync(path, 0o600);
    return { value, created: false };
  }
  const value = create();
  // 'wx' refuses to overwrite a file another process wrote in between.
  writeFileSync(path, value + '\n', { mode: 0o600, flag: 'wx' });
  return { value, created: true };
}

/**
 * First start: the JWT signing secret and the admin API key live in the data dir, mode 0600.
 * ADMIN_API_KEY replaces admin.key; JWT_SECRET replaces signing.key (share it between instances).
 */
export function loadDataDirSecrets(dataDir: string, env: NodeJS.ProcessEnv): DataDirSecrets {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // A data dir made earlier (or by hand) may be world-readable: it holds the secrets, so 0700 always.
  chmodSync(dataDir, 0o700);
  const signing = env.JWT_SECRET
    ? { value: env.JWT_SECRET, created: false }
    : readOrCreate(join(dataDir, 'signing.key'), () => randomBytes(32).toString('base64url'));
  if (signing.value.length < 16) throw new Error('JWT_SECRET must be at least 16 characters');
  const adminKeyPath = join(dataDir, 'admin.key');
  if (env.ADMIN_API_KEY) {
    if (env.ADMIN_API_KEY.length < 16) throw new Error('ADMIN_API_KEY must be at least 16 characters');
    return { signingKey: new TextEncoder().encode(signing.value), adminKey: env.ADMIN_API_KEY, adminKeySource: 'env', adminKeyPath, createdAdminKey: false };
  }
  const admin = readOrCreate(adminKeyPath, () => newSecret('ak_'));
  return {
    signingKey: new TextEncoder().encode(signing.value),
    adminKey: admin.value,
    adminKeySource: 'admin_file',
    adminKeyPath,
    createdAdminKey: admin.created,
  };
}
