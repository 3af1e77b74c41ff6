// Placeholder until the app shell lands: the build and the server's static serving work end to end.
const app = document.getElementById('app');
if (app) app.textContent = 'StoreTwin';
(window as unknown as { __storetwinReady: boolean }).__storetwinReady = true;
