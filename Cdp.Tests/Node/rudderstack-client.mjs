// Drives the real @rudderstack/rudder-sdk-node SDK against a Cdp host, gzip on (its default, set here to say so).
// usage: node rudderstack-client.mjs <baseUrl> <writeKey> <runId> <trackTimeIso>
// The track carries originalTimestamp = <trackTimeIso> (RudderStack SDKs send originalTimestamp, never timestamp).
// Prints one JSON line per message as the SDK sent it (read back from the gzip body it posted), then "flushed".
import { gunzipSync } from 'node:zlib';
import Analytics from '@rudderstack/rudder-sdk-node';

const [dataPlaneUrl, writeKey, runId, trackTime] = process.argv.slice(2);
const client = new Analytics(writeKey, { dataPlaneUrl, gzip: true, flushAt: 10, flushInterval: 200, retryCount: 1, logLevel: 'error' });
const sent = new Map();
let failures = 0;
const done = (err, data) => {
  if (err) { console.error('call failed', err.message ?? err); failures++; return; }
  // with gzip on, the callback gets the body exactly as posted: proves it was compressed
  if (!Buffer.isBuffer(data)) { console.error('the body was not gzip-compressed'); failures++; return; }
  for (const m of JSON.parse(gunzipSync(data).toString('utf8')).batch) sent.set(m.messageId, m);
};

const userId = `user-${runId}`;
const anonymousId = `anon-${runId}`;
client.identify({ userId, anonymousId, traits: { email: `jane-${runId}@example.com`, plan: 'pro' } }, done);
client.track({ userId, event: 'Appointment Booked', properties: { clinic: 'Dermatology', value: 120.5 }, originalTimestamp: trackTime }, done);
client.page({ userId, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } }, done);
client.screen({ userId, name: 'Booking', properties: { step: 2 } }, done);
client.group({ userId, groupId: `clinic-${runId}`, traits: { name: 'North Clinic' } }, done);
client.alias({ userId, previousId: anonymousId }, done);
await new Promise((resolve) => setTimeout(resolve, 50));
await client.flush();
const deadline = Date.now() + 20000;
while (sent.size + failures < 6 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
for (const m of sent.values()) console.log(JSON.stringify({ type: m.type, messageId: m.messageId, originalTimestamp: m.originalTimestamp, sentAt: m.sentAt }));
if (failures > 0 || sent.size !== 6) process.exitCode = 1;
console.log('flushed');
