// Resumable video upload for the admin's Media screen.
//
// The file goes straight to object storage in parts (PUT to presigned URLs
// from /api/v1/uploads/<id>/parts); the app only opens, lists and completes
// the upload, and a worker then checks the video while this page polls.
// Which parts arrived is asked of the server, so a reload, a
// dropped connection or another tab resumes with the missing parts: pick the
// same file again. Each part is retried with backoff; three go at once.
(function () {
  "use strict";
  const form = document.querySelector("[data-media-upload]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const institution = form.querySelector("select[name=institution]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const api = form.dataset.api;
  const CONCURRENCY = 3;
  const RETRIES = 5;
  const URL_BATCH = 50;
  const POLL_MS = 1000;
  const TYPES = { mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime",
                  mkv: "video/x-matroska", webm: "video/webm" };

  function say(text) { status.textContent = text; }

  async function call(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.detail || data.title || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function put(url, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PUT", url);
      request.upload.onprogress = (event) => onProgress(event.loaded);
      request.onload = () => (request.status < 300 ? resolve() : reject(new Error(`HTTP ${request.status}`)));
      request.onerror = () => reject(new Error("network error"));
      request.send(blob);
    });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function open(file, memo) {
    const saved = localStorage.getItem(memo);
    if (saved) {
      try {
        return await call("GET", `${api}/${saved}`);
      } catch (error) {
        localStorage.removeItem(memo); // expired or finalized: start again
      }
    }
    const extension = file.name.split(".").pop().toLowerCase();
    const upload = await call("POST", api, {
      filename: file.name,
      size_bytes: file.size,
      content_type: file.type || TYPES[extension] || "application/octet-stream",
      institution: institution && institution.value ? institution.value : null,
    });
    localStorage.setItem(memo, upload.id);
    return upload;
  }

  async function upload(file) {
    const memo = `wanxue-upload:${file.name}:${file.size}:${file.lastModified}`;
    say("Opening the upload…");
    const session = await open(file, memo);
    const partBytes = session.part_bytes;
    const sizeOf = (n) => Math.min(partBytes, file.size - (n - 1) * partBytes);
    const inFlight = new Map();
    let stored = session.parts_done.reduce((sum, n) => sum + sizeOf(n), 0);
    const started = Date.now();
    const stored0 = stored;
    function show() {
      const sent = stored + [...inFlight.values()].reduce((a, b) => a + b, 0);
      bar.max = file.size;
      bar.value = sent;
      const rate = (sent - stored0) / Math.max(1, (Date.now() - started) / 1000);
      const left = rate > 0 ? Math.round((file.size - sent) / rate) : null;
      say(`${Math.floor((100 * sent) / file.size)}% of ${(file.size / 1048576).toFixed(0)} MiB` +
          (left !== null ? `, about ${left} s left` : ""));
    }
    const done = new Set(session.parts_done);
    const todo = [];
    for (let n = 1; n <= session.part_count; n += 1) if (!done.has(n)) todo.push(n);
    if (done.size) say(`Resuming: ${done.size} of ${session.part_count} parts already stored.`);
    show();
    for (let i = 0; i < todo.length; i += URL_BATCH) {
      const batch = todo.slice(i, i + URL_BATCH);
      const { urls } = await call("POST", `${api}/${session.id}/parts`, { numbers: batch });
      const queue = [...batch];
      async function worker() {
        while (queue.length) {
          const n = queue.shift();
          const blob = file.slice((n - 1) * partBytes, (n - 1) * partBytes + sizeOf(n));
          for (let attempt = 1; ; attempt += 1) {
            try {
              await put(urls[String(n)], blob, (loaded) => { inFlight.set(n, loaded); show(); });
              break;
            } catch (error) {
              inFlight.delete(n);
              if (attempt >= RETRIES) throw new Error(`part ${n}: ${error.message}`);
              await sleep(1000 * 2 ** attempt);
            }
          }
          inFlight.delete(n);
          stored += sizeOf(n);
          show();
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    }
    say("Uploaded. Checking the video…");
    let state;
    try {
      state = await call("POST", `${api}/${session.id}/complete`);
      // A worker checks the file (seconds per GiB): ask until it has decided.
      while (state.status === "finalizing") {
        await sleep(POLL_MS);
        state = await call("GET", `${api}/${session.id}`);
      }
    } catch (error) {
      if (error.status === 422) { // refused: resuming cannot help
        localStorage.removeItem(memo);
        error.refused = true;
      }
      throw error;
    }
    if (state.status === "refused") {
      localStorage.removeItem(memo);
      throw Object.assign(new Error(state.failure.message), { refused: true });
    }
    if (state.status !== "finalized") {
      throw new Error(state.failure ? state.failure.message : "The upload was not completed.");
    }
    localStorage.removeItem(memo);
    say("Uploaded. Transcoding is queued.");
    window.location.assign(state.asset_url);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    form.querySelector("button[type=submit]").disabled = true;
    upload(file).catch((error) => {
      say(error.refused
        ? `Refused: ${error.message}`
        : `Upload stopped: ${error.message} Pick the same file again to resume.`);
      form.querySelector("button[type=submit]").disabled = false;
    });
  });
})();
