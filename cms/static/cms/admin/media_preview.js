// The Media inspect page's player: hls.js on the staff-only playlists (the
// renditions switch with the bandwidth, as in the apps); Safari plays HLS itself.
(function () {
  "use strict";
  const video = document.querySelector("video[data-media-preview]");
  if (!video) return;
  const master = video.dataset.mediaPreview;
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls();
    hls.loadSource(master);
    hls.attachMedia(video);
    video.hls = hls; // for the browser test and the console
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = master;
  }
})();
