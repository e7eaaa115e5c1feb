// First start of the desktop app: ask for the server address, then open it.
document.getElementById('setup').addEventListener('submit', async (event) => {
  event.preventDefault();
  let value = document.getElementById('server').value.trim();
  if (!/^https?:\/\//i.test(value)) value = `https://${value}`;
  try {
    await window.whisperDesktop.setServerUrl(value);
  } catch {
    document.getElementById('error').textContent = 'That is not a server address.';
  }
});
