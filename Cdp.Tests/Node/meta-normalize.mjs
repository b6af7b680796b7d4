// Meta's own server-side normaliser (facebook-nodejs-business-sdk, ServerSideUtils.normalizeAndHash), an independent check
// of Cdp's MetaNormalisation. usage: node meta-normalize.mjs '<json array of [field, input]>'
// field is the SDK's name (em, ph, fn, ln, ct, st, zp, country, ge, doby, dobm, dobd). Prints one JSON array: the SHA-256
// hex of each input as the SDK normalises it, or null when the SDK refuses the value.
import sdk from 'facebook-nodejs-business-sdk';

const cases = JSON.parse(process.argv[2]);
const out = cases.map(([field, input]) => {
  try { return sdk.ServerSideUtils.normalizeAndHash(input, field); } catch { return null; }
});
console.log(JSON.stringify(out));
