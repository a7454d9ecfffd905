import { PDFDocument, StandardFonts } from "pdf-lib";

/** A real PDF with one page per entry, each page's lines drawn as text. */
export async function makePdf(pages: string[][], title?: string): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  if (title) pdf.setTitle(title);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    lines.forEach((line, index) => {
      page.drawText(line, { x: 50, y: 740 - index * 16, size: 11, font });
    });
  }
  return pdf.save();
}
