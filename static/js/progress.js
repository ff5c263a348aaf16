// Follows a background task: polls the element's data-progress-url, moves the bar, reloads when finished.
(function () {
  const box = document.querySelector("[data-progress-url]");
  if (!box) return;
  const bar = box.querySelector(".progress-bar");
  const phase = box.querySelector("[data-testid=progress-phase]");
  const percent = box.querySelector("[data-testid=progress-percent]");
  const labels = {
    queued: "Waiting for a worker…", checking: "Checking every line…", importing: "Importing…",
    running: "Running (no progress to show)…", writing: "Writing the spreadsheet…",
  };
  async function poll() {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } });
      const state = await response.json();
      bar.style.width = state.percent + "%";
      bar.textContent = state.percent + "%";
      bar.parentElement.setAttribute("aria-valuenow", state.percent);
      phase.textContent = labels[state.phase] || state.phase;
      percent.textContent = state.percent + "%";
      if (state.finished) { setTimeout(() => window.location.reload(), 400); return; }
    } catch (error) { phase.textContent = "Lost contact with the server; retrying…"; }
    setTimeout(poll, 300);
  }
  poll();
})();
