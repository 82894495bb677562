// The console page: HTML that runs noVNC (loaded from the service's own assets) against the
// WebSocket of the token in its own URL, showing the status and the VM's name in the title.
// Holds no secret: the token is read from the page's address, which the caller already has.

export function consolePage(opts: { nonce: string; assets: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>console</title>
<style nonce="${opts.nonce}">
  html, body { margin: 0; height: 100%; background: #111; color: #ddd; font: 14px sans-serif; }
  #bar { padding: 4px 8px; background: #222; }
  #screen { position: absolute; top: 28px; bottom: 0; left: 0; right: 0; }
</style>
</head>
<body>
<div id="bar"><span id="name"></span> <span id="status">connecting</span></div>
<div id="screen"></div>
<script type="module" nonce="${opts.nonce}">
  import RFB from '${opts.assets}/core/rfb.js';
  const status = document.getElementById('status');
  const state = (window.consoleState = { status: 'connecting', name: '' });
  const show = (s) => { state.status = s; status.textContent = s; };
  const ws = new URL('websocket', location.href);
  ws.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const rfb = new RFB(document.getElementById('screen'), ws.href);
  rfb.scaleViewport = true;
  rfb.addEventListener('connect', () => show('connected'));
  rfb.addEventListener('disconnect', (e) => show(e.detail.clean ? 'disconnected' : 'failed'));
  rfb.addEventListener('desktopname', (e) => {
    state.name = e.detail.name;
    document.getElementById('name').textContent = e.detail.name;
    document.title = 'console: ' + e.detail.name;
  });
</script>
</body>
</html>
`;
}
