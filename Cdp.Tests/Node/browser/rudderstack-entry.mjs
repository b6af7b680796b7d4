// What a website's own bundle does with the npm package: import the "bundled" build (its plugins inside; the default
// build would load them from RudderStack's CDN). build.mjs turns this into one script that sets window.RudderAnalytics.
import { RudderAnalytics } from '@rudderstack/analytics-js/bundled';

window.RudderAnalytics = RudderAnalytics;
