/**
 * `load`, run once per key per process: later calls share the first call's promise. A failed
 * load is not remembered (e.g. a package not installed yet), so the next call tries again.
 */
export function loadOnce<K, V>(load: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const cache = new Map<K, Promise<V>>();
  return (key) => {
    let loading = cache.get(key);
    if (!loading) {
      loading = load(key);
      cache.set(key, loading);
      loading.catch(() => cache.delete(key));
    }
    return loading;
  };
}
