// A generated video source for the media tests, served to the test page as a module.
// A canvas drawn cheaply once per animation frame: a static backdrop painted once, then only a
// moving square and a frame counter change. The canvas is captured when the page renders a
// frame, so drawing on a timer (unsynchronised with rendering) would lose frames whenever two
// drawings fell between two renders. `window.framesDrawn[name]` counts the drawings.
export function canvasSource(width, height, fps, name = 'main') {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d');
  const cell = Math.max(8, Math.round(height / 9));
  for (let y = 0; y < height; y += cell) for (let x = 0; x < width; x += cell) {
    ctx.fillStyle = `hsl(${(x + y) % 360} 40% ${((x / cell + y / cell) % 2) * 20 + 20}%)`;
    ctx.fillRect(x, y, cell, cell);
  }
  window.framesDrawn ??= {};
  window.framesDrawn[name] = 0;
  const side = Math.round(height / 5);
  const top = Math.round(height / 2 - side / 2);
  let last = 0;
  const draw = () => {
    const n = ++window.framesDrawn[name];
    ctx.fillStyle = '#202020';
    ctx.fillRect(last, top, side, side);
    last = (n * Math.max(1, Math.round(width / 120))) % (width - side);
    ctx.fillStyle = '#fff';
    ctx.fillRect(last, top, side, side);
    ctx.fillStyle = '#000';
    ctx.fillRect(side / 4, side / 4, side * 2.2, side * 0.8);
    ctx.fillStyle = '#fff';
    ctx.font = `${Math.round(side * 0.6)}px sans-serif`;
    ctx.fillText(String(n), side / 3, side * 0.85);
  };
  const minInterval = 1000 / fps - 2;
  let lastDraw = 0;
  const tick = (now) => {
    if (now - lastDraw >= minInterval) {
      lastDraw = now;
      draw();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return canvas.captureStream(fps);
}
