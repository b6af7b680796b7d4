// What a website's own bundle does with the npm package: import AnalyticsBrowser. build.mjs turns this into one
// script (no lazy chunks, so nothing is fetched from a CDN) that sets window.AnalyticsBrowser.
import { AnalyticsBrowser } from '@segment/analytics-next';

window.AnalyticsBrowser = AnalyticsBrowser;
