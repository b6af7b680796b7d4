// Every call of the admin pages goes through here: the same /api endpoints scripts use, with the signed-in key as Bearer.
const KEY = 'cdp.admin.key';
const WHO = 'cdp.admin.who';

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get who() { try { return JSON.parse(sessionStorage.getItem(WHO) || 'null'); } catch { return null; } },
  get isAdmin() { return this.who?.role === 'Admin'; },
  signIn(key, who) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(WHO, JSON.stringify(who)); },
  signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(WHO); },
};

export class ApiError extends Error {
  constructor(status, title, detail, problem) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problem = problem || {};
  }

  /** The endpoint is not in this version of Cdp (no route), as opposed to a refusal. */
  get notAvailable() { return this.status === 404 || this.status === 405; }
}

function problemText(p, fallback) {
  if (!p || typeof p !== 'object') return fallback;
  if (p.errors && typeof p.errors === 'object') {
    const parts = Object.entries(p.errors).map(([field, messages]) => `${field}: ${[].concat(messages).join(', ')}`);
    if (parts.length) return parts.join('; ');
  }
  return p.detail || p.title || fallback;
}

/**
 * Calls the admin API. Resolves with the parsed JSON (or text), null for 204; rejects with ApiError.
 * A 401 signs out (the key was revoked or is wrong) and goes back to the sign-in page.
 */
export async function api(path, { method = 'GET', body, signal, key, response = false } = {}) {
  const headers = { Accept: 'application/json, text/plain;q=0.9' };
  const bearer = key ?? session.key;
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Cdp did not answer', 'Cdp did not answer (' + e.message + '). Is it running?');
  }
  if (res.status === 401 && key === undefined) {
    session.signOut();
    if (!location.hash.startsWith('#/signin')) location.hash = '#/signin?expired=1';
    throw new ApiError(401, 'Signed out', 'The API key was not accepted; sign in again.');
  }
  if (!res.ok) {
    let problem = null;
    const text = await res.text();
    try { problem = text ? JSON.parse(text) : null; } catch { problem = null; }
    const fallback = res.status === 403 ? 'Your key\'s role may not do this.' : res.status === 404 ? 'Not found.' : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, problem?.title || res.statusText, problemText(problem, fallback), problem);
  }
  if (response) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const enc = encodeURIComponent;
