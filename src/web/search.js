// The search box: ranked passages with the query's words highlighted, title, page and score.
import { byId, el, pageLabel } from "./dom.js";
import { excerpt, markTerms, queryStems } from "./highlight.js";

/** @typedef {import("./library.js").Context} Context */

/** @param {Context} context */
export function setupSearch(context) {
  const form = /** @type {HTMLFormElement} */ (byId("search-form"));
  const query = /** @type {HTMLInputElement} */ (byId("query"));
  const mode = /** @type {HTMLSelectElement} */ (byId("mode"));
  const meta = byId("search-meta");
  const results = byId("results");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = query.value.trim();
    if (!text) return;
    context.clearError();
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
    button.disabled = true;
    try {
      const response = await context.client.search(context.collection, {
        query: text,
        k: 10,
        mode: /** @type {"hybrid" | "keyword" | "vector"} */ (mode.value),
      });
      const stems = queryStems(text);
      results.replaceChildren(...response.data.map((result) => resultItem(result, stems)));
      const count = response.data.length;
      meta.textContent =
        count === 0
          ? "No passages match."
          : `${count} passage${count === 1 ? "" : "s"} · ${response.mode} · ${Math.round(response.took_ms)} ms`;
    } catch (error) {
      context.fail(error);
    } finally {
      button.disabled = false;
    }
  });

  context.onCollectionChange(() => {
    results.replaceChildren();
    meta.textContent = "";
  });
}

/**
 * One ranked passage: head line, the matching part of the text, and a toggle for all of it.
 * @param {import("../client/index.ts").SearchResult} result
 * @param {string[]} stems
 */
function resultItem(result, stems) {
  const text = result.text.replace(/\s+/g, " ").trim();
  const short = excerpt(text, stems);
  const snippet = el("p", { class: "snippet" }, ...markTerms(short.text, stems));
  const toggle =
    short.clipped &&
    el("button", {
      type: "button",
      class: "link",
      "aria-expanded": "false",
      text: "Show the whole passage",
    });
  if (toggle) {
    toggle.addEventListener("click", () => {
      const expanded = toggle.getAttribute("aria-expanded") === "true";
      snippet.replaceChildren(...markTerms(expanded ? short.text : text, stems));
      toggle.setAttribute("aria-expanded", String(!expanded));
      toggle.textContent = expanded ? "Show the whole passage" : "Show less";
    });
  }
  return el(
    "li",
    {},
    el(
      "div",
      { class: "result-head" },
      el("strong", { text: result.title ?? result.document_id }),
      el("span", { class: "hint", text: pageLabel(result.page_start, result.page_end) }),
      el("span", { class: "hint", text: `score ${result.score.toFixed(4)}` }),
    ),
    snippet,
    toggle,
  );
}
