// Uploads (drag and drop or a file picker, with progress and a status per file) and the
// document list with delete.
import { byId, el, formatBytes } from "./dom.js";

/** @typedef {ReturnType<typeof import("../client/index.ts").createGleanerClient>} Client */
/** @typedef {{ client: Client, collection: string, say(m: string): void, clearError(): void, fail(e: unknown): void, onCollectionChange(l: (name: string) => void): void }} Context */

/** @param {Context} context */
export function setupLibrary(context) {
  const zone = byId("drop-zone");
  const input = /** @type {HTMLInputElement} */ (byId("files"));
  const uploads = byId("uploads");
  const table = byId("documents");
  const body = /** @type {HTMLElement} */ (table.querySelector("tbody"));
  const empty = byId("documents-empty");
  const more = byId("documents-more");
  /** @type {string | null} */
  let nextAfter = null;
  /** @type {Promise<void>} */
  let queue = Promise.resolve();

  byId("choose-files").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    enqueue([...(input.files ?? [])]);
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    enqueue([...(event.dataTransfer?.files ?? [])]);
  });

  /** @param {File[]} files */
  function enqueue(files) {
    const collection = context.collection;
    for (const file of files) {
      const row = uploadRow(file);
      uploads.prepend(row.item);
      // one at a time: the service ingests in order and the progress bars stay meaningful
      queue = queue.then(() => upload(collection, file, row));
    }
  }

  /** @param {File} file */
  function uploadRow(file) {
    const progress = /** @type {HTMLProgressElement} */ (
      el("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` })
    );
    const state = el("span", { class: "state", text: `waiting · ${formatBytes(file.size)}` });
    const item = el("li", {}, el("span", { class: "name", text: file.name }), progress, state);
    return { item, progress, state };
  }

  /**
   * @param {string} collection
   * @param {File} file
   * @param {ReturnType<typeof uploadRow>} row
   */
  async function upload(collection, file, row) {
    row.state.textContent = "uploading…";
    try {
      const document = await context.client.documents.upload(collection, file, {
        onProgress: ({ loaded, total }) => {
          const fraction = total ? loaded / total : 0;
          row.progress.value = fraction;
          row.state.textContent =
            fraction >= 1 ? "reading and indexing…" : `uploading · ${Math.round(fraction * 100)}%`;
        },
      });
      row.progress.value = 1;
      row.state.className = "state ready";
      const pages = document.page_count === null ? "" : `${document.page_count} pages, `;
      row.state.textContent = `ready · ${pages}${document.chunk_count} chunks`;
      context.say(`${file.name} is ready.`);
      if (collection === context.collection) await refresh();
    } catch (error) {
      row.progress.remove();
      row.state.className = "state refused";
      row.state.textContent = `refused · ${error instanceof Error ? error.message : String(error)}`;
      context.fail(error);
    }
  }

  async function refresh() {
    nextAfter = null;
    body.replaceChildren();
    await loadPage();
  }

  async function loadPage() {
    const collection = context.collection;
    if (!collection) return;
    try {
      const page = await context.client.documents.list(collection, {
        limit: "100",
        ...(nextAfter ? { after: nextAfter } : {}),
      });
      body.append(...page.data.map(documentRow));
      nextAfter = page.next_after;
      more.hidden = !page.has_more;
      const count = body.children.length;
      table.hidden = count === 0;
      empty.hidden = count > 0;
    } catch (error) {
      context.fail(error);
    }
  }

  /** @param {import("../client/index.ts").GleanerDocument} document */
  function documentRow(document) {
    const title = document.title ?? document.source.filename ?? document.id;
    const remove = el("button", {
      type: "button",
      class: "secondary",
      text: "Delete",
      "aria-label": `Delete ${title}`,
    });
    const row = el(
      "tr",
      { "data-id": document.id },
      el("td", {}, title, el("span", { class: "id", text: document.id })),
      el("td", { class: "number", text: document.page_count ?? "–" }),
      el("td", { class: "number", text: document.chunk_count }),
      el("td", { text: document.status }),
      el("td", {}, remove),
    );
    remove.addEventListener("click", async () => {
      remove.setAttribute("disabled", "");
      try {
        await context.client.documents.delete(context.collection, document.id);
        const next = row.nextElementSibling ?? row.previousElementSibling;
        row.remove();
        const count = body.children.length;
        table.hidden = count === 0;
        empty.hidden = count > 0;
        context.say(`Deleted ${title}.`);
        // keep keyboard focus in the list rather than dropping it to the page
        /** @type {HTMLElement | null} */ (next?.querySelector("button") ?? null)?.focus();
      } catch (error) {
        remove.removeAttribute("disabled");
        context.fail(error);
      }
    });
    return row;
  }

  more.addEventListener("click", () => void loadPage());
  context.onCollectionChange(() => void refresh());
}
