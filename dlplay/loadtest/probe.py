"""What each tab records about itself, in the page: when Train was clicked, when the
first point of the chart arrived, when "Finished in … s" appeared, the queue places
it showed on the way, and any error. All times are Date.now() milliseconds, one clock
for every tab of the browser, so all tabs can be told to click at the same moment."""

INSTALL_JS = """(args) => {
  const lt = window.__lt = {click: null, first: null, finish: null, places: [], error: null};
  const chartPoints = () => {
    let best = 0;
    for (const el of document.querySelectorAll('.js-plotly-plot')) {
      const title = el.layout && el.layout.title && el.layout.title.text || '';
      if (!new RegExp(args.chart).test(title)) continue;
      for (const t of el._fullData || []) best = Math.max(best, t.x ? t.x.length : 0);
    }
    return best;
  };
  setTimeout(() => {
    const button = [...document.querySelectorAll('button')]
      .find(b => b.innerText.trim() === args.button && !b.disabled);
    if (!button) { lt.error = `no enabled "${args.button}" button`; return; }
    lt.click = Date.now();
    button.click();
  }, Math.max(0, args.at - Date.now()));
  const poll = setInterval(() => {
    if (lt.click === null) { if (lt.error) clearInterval(poll); return; }
    const text = document.body.textContent;  // textContent: no layout, cheap on a busy machine
    const place = text.match(/position (\\d+) in the queue/);
    if (place && lt.places[lt.places.length - 1] !== +place[1]) lt.places.push(+place[1]);
    if (lt.first === null && chartPoints() > 0) lt.first = Date.now();
    const failed = document.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]');
    if (/Finished in [\\d.]+ s/.test(text)) lt.finish = Date.now();
    else if (failed) { lt.error = failed.textContent.slice(0, 200); lt.finish = Date.now(); }
    if (lt.finish !== null) clearInterval(poll);
  }, 100);
}"""

READ_JS = "() => window.__lt || null"
