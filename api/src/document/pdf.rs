//! The document as a PDF, written with pdf-writer in Helvetica, one of the 14 fonts every PDF
//! reader has: nothing is embedded and nothing is fetched. Text is laid out in fixed columns on
//! A4 pages, a new page when one is full; descriptions wrap.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

use super::InvoiceDocument;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
/// Characters of a line description per printed line, at 10 pt in its column.
const DESCRIPTION_WIDTH: usize = 48;

/// The x of each column of the lines table.
const COLUMNS: [f32; 4] = [MARGIN, 330.0, 385.0, 470.0];
/// The x of each column of the payments table: date, kind, reference, amount.
const PAYMENT_COLUMNS: [f32; 4] = [MARGIN, 130.0, 190.0, COLUMNS[3]];

/// The PDF of `document`.
pub fn render_pdf(document: &InvoiceDocument) -> Vec<u8> {
    let mut pages = Pages::default();
    header(&mut pages, document);
    lines(&mut pages, document);
    totals(&mut pages, document);
    payments(&mut pages, document);
    pages.finish()
}

fn header(pages: &mut Pages, document: &InvoiceDocument) {
    let seller = &document.seller;
    pages.row(
        16.0,
        &[(MARGIN, BOLD, &seller.name), (COLUMNS[2], BOLD, "Invoice")],
    );
    let mut left: Vec<String> = seller.address.clone();
    left.extend(seller.email.clone());
    left.extend(seller.tax_id.as_ref().map(|id| format!("Tax ID {id}")));
    let right = [
        format!("Number: {}", document.number),
        format!("Issued: {}", document.issued_on),
        format!("Due: {}", document.due_on),
        format!("Status: {}", document.status),
    ];
    for index in 0..left.len().max(right.len()) {
        let at_left = left.get(index).map_or("", String::as_str);
        let at_right = right.get(index).map_or("", String::as_str);
        pages.row(
            10.0,
            &[(MARGIN, REGULAR, at_left), (COLUMNS[2], REGULAR, at_right)],
        );
    }
    pages.gap();
    pages.row(12.0, &[(MARGIN, BOLD, "Bill to")]);
    pages.row(
        10.0,
        &[(MARGIN, REGULAR, &format!("Account {}", document.account_id))],
    );
    if let Some(email) = &document.customer_email {
        pages.row(10.0, &[(MARGIN, REGULAR, email)]);
    }
    pages.gap();
}

fn lines(pages: &mut Pages, document: &InvoiceDocument) {
    table_head(
        pages,
        COLUMNS,
        ["Description", "Quantity", "Unit price", "Amount"],
    );
    for line in &document.lines {
        let wrapped = wrap(&line.description, DESCRIPTION_WIDTH);
        let (first, rest) = wrapped
            .split_first()
            .map_or(("", &[][..]), |(f, r)| (f.as_str(), r));
        pages.row(
            10.0,
            &[
                (COLUMNS[0], REGULAR, first),
                (COLUMNS[1], REGULAR, &line.quantity),
                (COLUMNS[2], REGULAR, &line.unit_amount),
                (COLUMNS[3], REGULAR, &line.amount),
            ],
        );
        for more in rest {
            pages.row(10.0, &[(COLUMNS[0], REGULAR, more)]);
        }
    }
    pages.gap();
}

fn totals(pages: &mut Pages, document: &InvoiceDocument) {
    let discounts = document
        .discounts
        .iter()
        .map(|line| (line.description.as_str(), &line.amount, REGULAR));
    let subtotal = [("Subtotal", &document.subtotal, REGULAR)];
    let rest = [
        ("Tax", &document.tax, REGULAR),
        ("Total", &document.total, BOLD),
        ("Amount paid", &document.amount_paid, REGULAR),
        ("Amount refunded", &document.amount_refunded, REGULAR),
        ("Amount due", &document.amount_due, BOLD),
    ];
    for (label, amount, font) in subtotal.into_iter().chain(discounts).chain(rest) {
        pages.row(
            10.0,
            &[(COLUMNS[2], font, label), (COLUMNS[3], font, amount)],
        );
    }
    pages.gap();
}

fn payments(pages: &mut Pages, document: &InvoiceDocument) {
    pages.row(12.0, &[(MARGIN, BOLD, "Payments")]);
    if document.payments.is_empty() {
        pages.row(10.0, &[(MARGIN, REGULAR, "No payment recorded.")]);
    } else {
        table_head(
            pages,
            PAYMENT_COLUMNS,
            ["Date", "Kind", "Reference", "Amount"],
        );
        for payment in &document.payments {
            pages.row(
                10.0,
                &[
                    (PAYMENT_COLUMNS[0], REGULAR, &payment.date),
                    (PAYMENT_COLUMNS[1], REGULAR, payment.kind),
                    (PAYMENT_COLUMNS[2], REGULAR, &payment.detail),
                    (PAYMENT_COLUMNS[3], REGULAR, &payment.amount),
                ],
            );
        }
    }
    pages.gap();
    pages.row(
        8.0,
        &[(MARGIN, REGULAR, &format!("Invoice {}", document.invoice_id))],
    );
}

fn table_head(pages: &mut Pages, columns: [f32; 4], titles: [&str; 4]) {
    let cells: Vec<(f32, Name<'static>, &str)> = columns
        .iter()
        .zip(titles)
        .map(|(x, title)| (*x, BOLD, title))
        .collect();
    pages.row(10.0, &cells);
}

/// `text` cut into pieces of at most `width` characters, at spaces where it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// `text` in the WinAnsi encoding the base-14 fonts are declared with: what it cannot encode
/// prints as `?`, and control characters as spaces.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            c if c.is_control() => b' ',
            _ => b'?',
        })
        .collect()
}

/// The pages being written, top to bottom.
#[derive(Default)]
struct Pages {
    done: Vec<Content>,
    current: Option<Content>,
    /// The baseline of the next row on the current page.
    y: f32,
}

impl Pages {
    /// Writes one row of `cells` (x, font, text) at `size` points, on a new page when this one
    /// is full.
    fn row(&mut self, size: f32, cells: &[(f32, Name<'static>, &str)]) {
        let leading = size * 1.5;
        if self.current.is_none() || self.y - leading < MARGIN {
            self.done.extend(self.current.take());
            self.current = Some(Content::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
        self.y -= leading;
        let y = self.y;
        let content = self.current.get_or_insert_with(Content::new);
        for (x, font, text) in cells {
            if text.is_empty() {
                continue;
            }
            content
                .begin_text()
                .set_font(*font, size)
                .next_line(*x, y)
                .show(Str(&win_ansi(text)))
                .end_text();
        }
    }

    /// A blank half line between sections.
    fn gap(&mut self) {
        self.y -= 8.0;
    }

    fn finish(mut self) -> Vec<u8> {
        self.done.extend(self.current.take());
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        // Each page is an object and its content stream the next one.
        let page_ids: Vec<Ref> = (0..self.done.len())
            .map(|index| Ref::new(5 + 2 * index as i32))
            .collect();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        for (id, base) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
            pdf.type1_font(id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        for (content, page_id) in self.done.into_iter().zip(&page_ids) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.parent(tree)
                .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .contents(content_id);
            page.resources()
                .fonts()
                .pair(REGULAR, regular)
                .pair(BOLD, bold);
            drop(page);
            pdf.stream(content_id, &content.finish());
        }
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_wrap_at_spaces_and_cut_long_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn text_is_encoded_for_the_base_fonts() {
        assert_eq!(win_ansi("A1 (x)"), b"A1 (x)");
        assert_eq!(win_ansi("é€\u{1F600}\t"), [0xe9, 0x80, b'?', b' ']);
    }
}
