// GOV.UK character count, hand-written (no build step, nothing from a CDN). The server shows each
// limit ("You can enter up to 200 characters"), so the form works without this script; with it,
// the message counts down as the user types, turns red past the limit, and a polite live region
// tells screen-reader users once they pause. No maxlength: an overrun is shown, and the server
// refuses it with the field's own message.
// Loaded as a module beside every counted field: a module runs once per page however often it
// is included.

const ANNOUNCE_AFTER_MS = 1000; // as GOV.UK: speak the count when typing pauses, not per key

function length(text) {
  // As the server counts: characters, not UTF-16 units, and a browser sends a newline as CRLF.
  return [...text.replace(/\r?\n/g, "\r\n")].length;
}

function describe(left) {
  const n = Math.abs(left);
  const noun = n === 1 ? "character" : "characters";
  const count = n.toLocaleString("en-GB");
  return left < 0 ? `You have ${count} ${noun} too many` : `You have ${count} ${noun} remaining`;
}

function start(group) {
  const limit = Number(group.dataset.maxlength);
  const field = group.querySelector("textarea, input");
  const message = group.querySelector(".character-count__message");
  const status = group.querySelector(".character-count__status");
  if (!limit || !field || !message || !status) return;
  let timer;
  const update = (announce) => {
    const left = limit - length(field.value);
    const words = describe(left);
    message.textContent = words;
    message.classList.toggle("character-count__message--over", left < 0);
    field.classList.toggle("character-count__field--over", left < 0);
    if (announce) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        status.textContent = words;
      }, ANNOUNCE_AFTER_MS);
    }
  };
  field.addEventListener("input", () => update(true));
  update(false);
}

for (const group of document.querySelectorAll('[data-module="character-count"]')) {
  start(group);
}
