// Wires the page to the simulator (crates/web, bound into ./pkg by `cargo xtask serve`).
// For now it only shows the simulator's version; the playground regions come later.

const versionLabel = document.getElementById('sim-version');
const loadError = document.getElementById('load-error');
const loadErrorDetail = document.getElementById('load-error-detail');

async function start() {
  try {
    // Imported here, not at the top, so that a missing or broken ./pkg is caught
    // and shown instead of leaving the page silently half-alive.
    const sim = await import('./pkg/pipelab_web.js');
    await sim.default();
    showVersion(sim.version());
  } catch (error) {
    showLoadError(error);
  }
}

function showVersion(version) {
  versionLabel.textContent = `pipelab-sim ${version}`;
  versionLabel.dataset.state = 'ready';
}

function showLoadError(error) {
  const detail = error instanceof Error ? error.message : String(error);
  // Text, never HTML: the message can quote a URL or anything a server sent.
  loadErrorDetail.textContent = detail;
  loadError.hidden = false;
  versionLabel.textContent = 'simulator not loaded';
  versionLabel.dataset.state = 'failed';
  console.error('pipelab: the simulator did not load', error);
}

start();
