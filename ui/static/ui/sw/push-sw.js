// Liandong's service worker for browser push (issue 20; registered by ui/js/push.js from "My
// contact methods"). It only shows what the server pushes, {"title", "body", "url"}
// (docs/providers.md, "Web push"), and opens the acknowledgement link when the notification is
// clicked: the link's page asks for the one button press that acknowledges. It caches nothing
// and controls no page (its scope is its own folder).

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  const title = data.title || 'Liandong';
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || '',
    data: { url: data.url || '' },
    tag: data.url || undefined, // the same request twice is one notification
    requireInteraction: true, // stays until the officer acts on it
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (url) event.waitUntil(self.clients.openWindow(url));
});
