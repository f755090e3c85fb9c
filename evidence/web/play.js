// Plays the recording that cast.js put in window.BASTION_CAST. Inline
// data, not a URL: a page opened from disk (file://) may not fetch files.
(function () {
  var el = document.getElementById("player");
  AsciinemaPlayer.create({ data: window.BASTION_CAST }, el, {
    preload: true,
    poster: "npt:" + el.dataset.end,
    idleTimeLimit: 2,
    fit: "width",
  });
})();
