/**
 * A tiny promise wrapper over IndexedDB: one database, a key-value store (credential, last known
 * mesh state, custom skills) and an ordered outbox of actions taken while offline.
 * IndexedDB, not localStorage: it is readable from workers, survives quota pressure better and
 * keeps the credential out of synchronous page-script reach of casual extensions scanning storage.
 */
const DB_NAME = 'chatixia';
const DB_VERSION = 1;
export type StoreName = 'kv' | 'outbox';

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opening = null;
      reject(req.error);
    };
  });
  return opening;
}

function run<T>(store: StoreName, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const req = fn(tx.objectStore(store));
        tx.oncomplete = () => resolve(req.result as T);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

export const idb = {
  get: <T>(key: string) => run<T | undefined>('kv', 'readonly', (s) => s.get(key)),
  set: (key: string, value: unknown) => run<IDBValidKey>('kv', 'readwrite', (s) => s.put(value, key)).then(() => undefined),
  del: (key: string) => run<undefined>('kv', 'readwrite', (s) => s.delete(key)),
  /** Appends to the outbox; resolves with the new entry's id. */
  push: (value: object) => run<number>('outbox', 'readwrite', (s) => s.add(value)),
  all: <T>() => run<T[]>('outbox', 'readonly', (s) => s.getAll()),
  remove: (id: number) => run<undefined>('outbox', 'readwrite', (s) => s.delete(id)),
};
