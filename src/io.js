// The one place the SDK touches the network: fetch with a timeout through
// AbortController, the body read as JSON. It never rejects: a network error,
// a timeout or an unreadable answer resolves to `status: 0`, so the Rust
// side sorts every outcome in one place (transport.rs). Doing this in JS
// keeps async machinery and per-call glue out of the wasm.
export function send(fetchFn, url, method, headers, body, timeoutMs) {
  const doFetch = typeof fetchFn === "function" ? fetchFn : globalThis.fetch;
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  const init = { method, headers };
  if (body !== undefined) init.body = body;
  if (controller) init.signal = controller.signal;
  return Promise.resolve()
    .then(() => doFetch(url, init))
    .then(async (response) => {
      const text = await response.text();
      let parsed = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = null;
        }
      }
      const retryAfter = Number(response.headers?.get?.("Retry-After"));
      return {
        status: response.status | 0,
        body: parsed,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
      };
    })
    .catch(() => ({ status: 0, body: null }))
    .finally(() => {
      if (timer !== null) clearTimeout(timer);
    });
}
