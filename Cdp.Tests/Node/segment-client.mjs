// Drives the real @segment/analytics-node SDK against a Cdp host.
// usage: node segment-client.mjs <baseUrl> <writeKey> <runId>
// Prints one JSON line per call with the messageId the SDK assigned, then "flushed".
import { Analytics } from '@segment/analytics-node';

const [baseUrl, writeKey, runId] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host: baseUrl, flushAt: 3, flushInterval: 200, maxRetries: 2 });
const sent = [];
analytics.on('error', (err) => { console.error('sdk error', err); process.exitCode = 1; });
const done = (err, ctx) => { if (err) { console.error('call failed', err); process.exitCode = 1; } else sent.push({ type: ctx.event.type, messageId: ctx.event.messageId }); };

const userId = `user-${runId}`;
analytics.identify({ userId, anonymousId: `anon-${runId}`, traits: { email: `jane-${runId}@example.com`, plan: 'pro' } }, done);
analytics.track({ userId, event: 'Appointment Booked', properties: { clinic: 'Dermatology', value: 120.5 } }, done);
analytics.page({ userId, category: 'Docs', name: 'Pricing', properties: { path: '/pricing' } }, done);
analytics.group({ userId, groupId: `clinic-${runId}`, traits: { name: 'North Clinic' } }, done);
analytics.alias({ userId, previousId: `anon-${runId}` }, done);
await analytics.closeAndFlush({ timeout: 20000 });
for (const s of sent) console.log(JSON.stringify(s));
console.log('flushed');
