// Progressive enhancement: the server writes each shopper-facing time in the store's time
// zone; where scripts run, show it in the browser's own zone instead. The datetime attribute
// (exact UTC) is left as it is, and without this file the store's time still reads right.
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) {
    return;
  }
  var format = new Intl.DateTimeFormat(undefined, {
    day: "2-digit", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var times = document.querySelectorAll("time[data-local][datetime]");
  for (var i = 0; i < times.length; i += 1) {
    var when = new Date(times[i].getAttribute("datetime"));
    if (!isNaN(when.getTime())) {
      times[i].textContent = format.format(when);
    }
  }
})();
