// "Receive notifications in this browser" on My contact methods (issue 20): registers the push
// service worker, subscribes with the server's VAPID public key (the section's data-key) and
// posts the subscription to the page's form, which stores it as a web push contact method
// through coordination.people's service. Without the button's press nothing is asked of the
// browser; without support or permission the section says so.

export function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
}

async function activeRegistration(url) {
  const registration = await navigator.serviceWorker.register(url);
  const worker = registration.installing || registration.waiting;
  if (worker && !registration.active) {
    await new Promise((resolve) => {
      worker.addEventListener('statechange', () => { if (worker.state === 'activated') resolve(); });
    });
  }
  return registration;
}

const section = typeof document === 'undefined' ? null : document.getElementById('push-subscribe');
const button = section?.querySelector('#push-button');
if (section && button) {
  const status = section.querySelector('#push-status');
  const say = (which) => { status.textContent = status.dataset[which] || ''; };
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !window.isSecureContext) {
    say('unsupported');
  } else {
    button.hidden = false;
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        if (await Notification.requestPermission() !== 'granted') {
          say('denied');
          return;
        }
        const registration = await activeRegistration(section.dataset.worker);
        const subscription = await registration.pushManager.getSubscription()
          || await registration.pushManager.subscribe({
            userVisibleOnly: true, applicationServerKey: keyBytes(section.dataset.key),
          });
        const form = section.querySelector('#push-form');
        form.elements.namedItem('subscription').value = JSON.stringify(subscription.toJSON());
        form.submit();
      } catch (error) {
        say('failed');
      } finally {
        button.disabled = false;
      }
    });
  }
}
