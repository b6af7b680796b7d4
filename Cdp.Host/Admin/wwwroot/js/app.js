import { session } from './api.js';
import { h } from './dom.js';
import { signInPage } from './pages/signin.js';
import { overviewPage } from './pages/overview.js';
import { profilesPage, profilePage } from './pages/profiles.js';
import { segmentsPage, segmentPage } from './pages/segments.js';
import { syncsPage, syncPage } from './pages/syncs.js';
import { reviewPage } from './pages/review.js';
import { deadLettersPage } from './pages/deadletters.js';
import { trackingPlansPage } from './pages/trackingplans.js';
import { auditPage } from './pages/audit.js';

// Routes live in the URL fragment (#/profiles/p_12?q=...), so /admin serves one page and links keep working.
const routes = [
  { pattern: /^signin$/, page: signInPage, open: true },
  { pattern: /^overview$/, page: overviewPage, nav: 'overview' },
  { pattern: /^profiles$/, page: profilesPage, nav: 'profiles' },
  { pattern: /^profiles\/(.+)$/, page: profilePage, nav: 'profiles' },
  { pattern: /^segments$/, page: segmentsPage, nav: 'segments' },
  { pattern: /^segments\/(.+)$/, page: segmentPage, nav: 'segments' },
  { pattern: /^syncs$/, page: syncsPage, nav: 'syncs' },
  { pattern: /^syncs\/(.+)$/, page: syncPage, nav: 'syncs' },
  { pattern: /^review$/, page: reviewPage, nav: 'review' },
  { pattern: /^dead-letters$/, page: deadLettersPage, nav: 'dead-letters' },
  { pattern: /^tracking-plans$/, page: trackingPlansPage, nav: 'tracking-plans' },
  { pattern: /^audit$/, page: auditPage, nav: 'audit' },
];

const main = document.getElementById('main');

function parse() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  return { path: path || 'overview', query: new URLSearchParams(qs || '') };
}

function shell(signedIn, nav) {
  document.getElementById('top').hidden = !signedIn;
  document.body.dataset.role = session.who?.role || '';
  if (signedIn) {
    document.getElementById('who-name').textContent = session.who.name;
    document.getElementById('who-role').textContent = session.who.role;
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  setMenu(false);
}

function setMenu(open) {
  document.getElementById('menu-toggle').setAttribute('aria-expanded', String(open));
  document.getElementById('nav').classList.toggle('open', open);
}

let first = true;

async function render() {
  const { path, query } = parse();
  let route = routes.find(r => r.pattern.test(path));
  if (!route) route = routes[1];
  if (!route.open && !session.key) {
    location.replace('#/signin?next=' + encodeURIComponent(location.hash.slice(1)));
    return;
  }
  shell(!!session.key && !route.open, route.nav);
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  const args = (path.match(route.pattern) || []).slice(1).map(decodeURIComponent);
  try {
    await route.page(view, { args, query });
  } catch (err) {
    view.replaceChildren(h('div', { class: 'error-box', role: 'alert' }, h('strong', null, 'This page failed'), h('p', null, err.detail || err.message)));
  }
  const heading = view.querySelector('h1');
  document.title = (heading ? heading.textContent + ' · ' : '') + 'Cdp admin';
  if (!first && heading) heading.focus({ preventScroll: false });
  first = false;
}

document.getElementById('menu-toggle').addEventListener('click', e => setMenu(e.currentTarget.getAttribute('aria-expanded') !== 'true'));
document.getElementById('sign-out').addEventListener('click', () => { session.signOut(); location.hash = '#/signin'; });
document.getElementById('skip').addEventListener('click', () => (main.querySelector('h1') || main).focus());
window.addEventListener('hashchange', render);
render();
