// Plays the page's recording. Kept out of the page so that the Content
// Security Policy can forbid inline scripts.
(function () {
  var el = document.getElementById("player");
  // Before playing, the player shows the last screen of the session, so
  // that a reviewer sees how it ended at once.
  AsciinemaPlayer.create(el.dataset.cast, el, {
    preload: true,
    poster: "npt:" + el.dataset.end,
    idleTimeLimit: 2,
    fit: "width",
  });
})();
