// The ask box: streams an answer, then turns its [n] markers into buttons that open the cited
// passage with the quote highlighted.
import { GleanerError } from "../client/index.ts";
import { byId, el, pageLabel } from "./dom.js";
import { findQuote } from "./highlight.js";

/** @typedef {import("./library.js").Context} Context */
/** @typedef {import("../client/index.ts").AnswerResponse} AnswerResponse */
/** @typedef {import("../client/index.ts").Citation} Citation */

const MARKER = /\[(\d+)\]/g;

/** @param {Context} context */
export function setupAsk(context) {
  const form = /** @type {HTMLFormElement} */ (byId("ask-form"));
  const question = /** @type {HTMLTextAreaElement} */ (byId("question"));
  const answer = byId("answer");
  const citations = byId("citations");
  const dialog = /** @type {HTMLDialogElement} */ (byId("passage"));
  /** @type {AbortController | null} */
  let running = null;

  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    context.clearError();
    running?.abort();
    const controller = new AbortController();
    running = controller;
    citations.replaceChildren();
    answer.replaceChildren();
    answer.setAttribute("aria-busy", "true");
    let streamed = "";
    try {
      const events = context.client.answerStream(
        context.collection,
        { question: text },
        { signal: controller.signal },
      );
      for await (const item of events) {
        if (controller.signal.aborted) return;
        // sources arrive first; the passages are shown from the final answer's own list
        if (item.event === "delta") {
          streamed += item.data.text;
          answer.textContent = streamed;
        } else if (item.event === "done") {
          render(item.data);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      answer.replaceChildren(
        streamed,
        el("p", { class: "error", text: error instanceof Error ? error.message : String(error) }),
      );
      if (error instanceof GleanerError && error.status === 401) context.fail(error);
    } finally {
      if (running === controller) {
        answer.setAttribute("aria-busy", "false");
        running = null;
      }
    }
  });

  /** @param {AnswerResponse} result */
  function render(result) {
    /** @type {Map<number, Citation>} */
    const byNumber = new Map(result.citations.map((citation) => [citation.n, citation]));
    const nodes = [];
    let last = 0;
    for (const match of result.answer.matchAll(MARKER)) {
      const citation = byNumber.get(Number(match[1]));
      if (!citation) continue;
      const index = match.index ?? 0;
      nodes.push(result.answer.slice(last, index), citeButton(citation, result, match[0]));
      last = index + match[0].length;
    }
    nodes.push(result.answer.slice(last));
    answer.replaceChildren(...nodes);
    citations.replaceChildren(
      ...result.citations.map((citation) =>
        el(
          "li",
          {},
          `[${citation.n}] `,
          el("button", {
            type: "button",
            class: "link",
            text: [citation.title ?? citation.document_id, pageLabel(citation.page_start)]
              .filter(Boolean)
              .join(", "),
            onclick: () => open(citation, result),
          }),
        ),
      ),
    );
  }

  /**
   * @param {Citation} citation
   * @param {AnswerResponse} result
   * @param {string} label
   */
  function citeButton(citation, result, label) {
    const where = pageLabel(citation.page_start);
    return el("button", {
      type: "button",
      class: "cite",
      text: label,
      "data-n": citation.n,
      "aria-label": `Citation ${citation.n}: ${citation.title ?? citation.document_id}${where ? `, ${where}` : ""}`,
      onclick: () => open(citation, result),
    });
  }

  /**
   * @param {Citation} citation
   * @param {AnswerResponse} result
   */
  function open(citation, result) {
    const source = result.sources.find((candidate) => candidate.chunk_id === citation.chunk_id);
    const passage = source?.text ?? citation.quote;
    byId("passage-title").textContent = `[${citation.n}] ${citation.title ?? citation.document_id}`;
    byId("passage-page").textContent =
      pageLabel(citation.page_start ?? source?.page_start, citation.page_end ?? source?.page_end) ||
      "no page numbers";
    const found = findQuote(passage, citation.quote);
    const text = byId("passage-text");
    if (found) {
      const mark = el("mark", { text: passage.slice(found.start, found.end) });
      text.replaceChildren(passage.slice(0, found.start), mark, passage.slice(found.end));
      dialog.showModal();
      mark.scrollIntoView({ block: "center" });
    } else {
      text.replaceChildren(passage);
      dialog.showModal();
    }
  }

  context.onCollectionChange(() => {
    running?.abort();
    answer.replaceChildren();
    citations.replaceChildren();
  });
}
