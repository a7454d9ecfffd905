// Small DOM helpers. Text always goes in through textContent, never innerHTML, so document
// text and error messages cannot inject markup.

/**
 * Creates an element with properties (`class`, `text`, `on*` handlers, attributes) and children.
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = String(value);
    else if (key === "text") element.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

/**
 * The element with this id (the page's markup guarantees it exists).
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return /** @type {T} */ (element);
}

/**
 * "page 3", "pages 3–4", or "" when the format has no pages.
 * @param {number | null | undefined} start
 * @param {number | null | undefined} [end]
 */
export function pageLabel(start, end) {
  if (start === null || start === undefined) return "";
  if (end === null || end === undefined || end === start) return `page ${start}`;
  return `pages ${start}–${end}`;
}

/**
 * Bytes as a short human size.
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
