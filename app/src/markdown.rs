//! Message formatting: a small Markdown subset, parsed into a tree the UI renders as elements.
//!
//! Why a tree and not HTML: the UI builds each element itself from [`Block`]s and [`Inline`]s,
//! so no message can produce markup, whatever it contains: text is only ever a text node, a
//! link only ever an `<a>` whose `href` passed [`safe_href`]. Raw HTML in a message is shown as
//! the text it is.
//!
//! The subset is the one chat apps share (Slack's and Discord's, not a document format's), read
//! line by line by `minimad`: `**bold**`, `*italic*`, `~~strikethrough~~`, `` `code` ``,
//! fenced (```` ``` ````) code blocks, `> quotes`, `- lists` and `1. lists`, and bare `http(s)://`
//! and e-mail addresses as links (found by `linkify`; only `http`, `https` and `mailto`). A line
//! break is a line break; a heading is a bold line, `---` a rule, a table row the text it is.
//! `minimad` was picked over `pulldown-cmark` for its size in the browser: the CommonMark parser
//! (with its entity and case-folding tables) cost 55 KB of compressed WASM, `minimad` a few
//! (docs/FORMATTING.md has the numbers). What that gives up: `[words](url)` links (the address is
//! still linked, the brackets stay text) and nesting (a quote in a quote).
//!
//! Mentions ([`crate::mentions`]) keep working: a mention whose text is in the message outside
//! code becomes an [`Inline::Mention`].

use crate::mentions::Mention;

/// A block of a formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A paragraph (also a heading, shown bold).
    Paragraph(Vec<Inline>),
    /// A code block's text, as written.
    Code(String),
    /// A block quote.
    Quote(Vec<Block>),
    /// A list: `start` for a numbered one; each item is blocks.
    List {
        /// The first number of a numbered list; `None` for bullets.
        start: Option<u64>,
        /// The items.
        items: Vec<Vec<Block>>,
    },
    /// A thematic break (`---`).
    Rule,
}

/// Inline content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// A mention, with the text it was written as.
    Mention(Mention, String),
    /// Bold.
    Strong(Vec<Inline>),
    /// Italic.
    Emphasis(Vec<Inline>),
    /// Struck through.
    Strike(Vec<Inline>),
    /// Inline code.
    Code(String),
    /// A link to a destination [`safe_href`] accepted.
    Link {
        /// The destination.
        href: String,
        /// What the link shows.
        children: Vec<Inline>,
    },
    /// A line break.
    Break,
}

/// `href` as a link destination, if it is one a message may link to: `http`, `https` or
/// `mailto`, with no whitespace or control characters anywhere (browsers drop tabs and line
/// breaks inside URLs, which would let `java\nscript:` through a looser check).
pub fn safe_href(href: &str) -> Option<&str> {
    if href.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = href.split_once(':')?;
    let allowed = ["http", "https", "mailto"].iter().any(|s| scheme.eq_ignore_ascii_case(s));
    (allowed && !rest.is_empty()).then_some(href)
}

/// Parses `body` (with its `mentions`, byte offsets into it) into blocks.
pub fn parse(body: &str, mentions: &[Mention]) -> Vec<Block> {
    use minimad::{CompositeStyle, Line};
    let options = minimad::Options { keep_code_fences: true, ..minimad::Options::default() };
    // One parsed line per line of the body (no indentation cleaning, fences kept), so each can
    // fall back to its source.
    let parsed = minimad::parse_text(body, options).lines;
    let sources: Vec<&str> = body.lines().collect();
    // A fence without a closing one is text, not the start of a code block to the end.
    let fences = parsed.iter().filter(|l| matches!(l, Line::CodeFence(_))).count();
    let mut unmatched_fence = (fences % 2 == 1)
        .then(|| parsed.iter().rposition(|l| matches!(l, Line::CodeFence(_))).unwrap_or_default());
    let cx = Context { body, mentions };
    let mut out = Out::default();
    let mut in_code = false;
    for (i, line) in parsed.iter().enumerate() {
        let source = sources.get(i).copied().unwrap_or_default();
        if let Line::CodeFence(_) = line {
            if unmatched_fence == Some(i) {
                unmatched_fence = None;
                out.line(Kind::Paragraph, cx.plain(source));
                continue;
            }
            if in_code {
                out.close();
            } else {
                out.start_code();
            }
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.code_line(source);
            continue;
        }
        match line {
            Line::Normal(composite) if composite.compounds.is_empty() => out.close(),
            Line::Normal(composite) => {
                let inlines = match cx.unclosed(&composite.compounds, source) {
                    // `**bold` with no closing marker: the line's text as written.
                    Some(rest) => cx.plain(rest),
                    None => cx.inlines(&composite.compounds),
                };
                match composite.style {
                    CompositeStyle::Paragraph => out.line(Kind::Paragraph, inlines),
                    CompositeStyle::Header(_) => {
                        out.close();
                        out.blocks.push(Block::Paragraph(vec![Inline::Strong(inlines)]));
                    }
                    CompositeStyle::Quote => out.line(Kind::Quote, inlines),
                    CompositeStyle::ListItem(_) => out.item(None, inlines),
                    CompositeStyle::OrderedListItem { index, .. } => {
                        out.item(Some(u64::from(index)), inlines)
                    }
                    // An indented line.
                    CompositeStyle::Code => {
                        let text = composite.compounds.iter().map(|c| c.src).collect::<String>();
                        out.code_block_line(&text);
                    }
                }
            }
            Line::HorizontalRule => {
                out.close();
                out.blocks.push(Block::Rule);
            }
            // Tables are not part of the subset: the line as written.
            Line::TableRow(_) | Line::TableRule(_) => out.line(Kind::Paragraph, cx.plain(source)),
            Line::CodeFence(_) => unreachable!("handled above"),
        }
    }
    out.close();
    out.blocks
}

/// The block being built.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Paragraph,
    Quote,
    List(Option<u64>),
    Code,
}

#[derive(Default)]
struct Out {
    blocks: Vec<Block>,
    open: Option<Kind>,
    /// The open paragraph's or quote's inlines.
    inlines: Vec<Inline>,
    items: Vec<Vec<Block>>,
    code: Vec<String>,
}

impl Out {
    /// Ends the open block.
    fn close(&mut self) {
        match self.open.take() {
            None => {}
            Some(Kind::Paragraph) => {
                self.blocks.push(Block::Paragraph(std::mem::take(&mut self.inlines)))
            }
            Some(Kind::Quote) => {
                let para = Block::Paragraph(std::mem::take(&mut self.inlines));
                self.blocks.push(Block::Quote(vec![para]));
            }
            Some(Kind::List(start)) => {
                self.blocks.push(Block::List { start, items: std::mem::take(&mut self.items) })
            }
            Some(Kind::Code) => {
                self.blocks.push(Block::Code(std::mem::take(&mut self.code).join("\n")))
            }
        }
    }

    /// A line of a paragraph or quote: joins the open one of its kind with a line break.
    fn line(&mut self, kind: Kind, inlines: Vec<Inline>) {
        if self.open == Some(kind) {
            self.inlines.push(Inline::Break);
        } else {
            self.close();
            self.open = Some(kind);
        }
        self.inlines.extend(inlines);
    }

    /// A list item: joins the open list of its kind (bullets, or numbers).
    fn item(&mut self, number: Option<u64>, inlines: Vec<Inline>) {
        let same =
            matches!(self.open, Some(Kind::List(start)) if start.is_some() == number.is_some());
        if !same {
            self.close();
            self.open = Some(Kind::List(number));
        }
        self.items.push(vec![Block::Paragraph(inlines)]);
    }

    fn start_code(&mut self) {
        self.close();
        self.open = Some(Kind::Code);
    }

    fn code_line(&mut self, line: &str) {
        self.code.push(line.to_owned());
    }

    /// An indented code line: joins the open indented block, or starts one.
    fn code_block_line(&mut self, line: &str) {
        if self.open != Some(Kind::Code) {
            self.start_code();
        }
        self.code_line(line);
    }
}

/// The message a line belongs to, for finding mentions by where they were written.
struct Context<'a> {
    body: &'a str,
    mentions: &'a [Mention],
}

impl Context<'_> {
    /// Where `part` (a slice of the body) starts in the body.
    fn offset(&self, part: &str) -> Option<usize> {
        let start = (part.as_ptr() as usize).checked_sub(self.body.as_ptr() as usize)?;
        (start + part.len() <= self.body.len()).then_some(start)
    }

    fn inlines(&self, compounds: &[minimad::Compound<'_>]) -> Vec<Inline> {
        let mut out = Vec::new();
        for c in compounds {
            if c.code {
                out.push(Inline::Code(c.src.to_owned()));
                continue;
            }
            let mut inner = self.text(c.src);
            if c.bold {
                inner = vec![Inline::Strong(inner)];
            }
            if c.italic {
                inner = vec![Inline::Emphasis(inner)];
            }
            if c.strikeout {
                inner = vec![Inline::Strike(inner)];
            }
            out.extend(inner);
        }
        out
    }

    /// If the line's last run is styled but no marker follows it (`**bold`, `a *b`: minimad
    /// styles to the end of the line), the line's content from its first run on, to show as
    /// written.
    fn unclosed<'s>(
        &self,
        compounds: &[minimad::Compound<'_>],
        source: &'s str,
    ) -> Option<&'s str> {
        let (first, last) = (compounds.first()?, compounds.last()?);
        if !(last.bold || last.italic || last.strikeout || last.code) {
            return None;
        }
        let line_start = self.offset(source)?;
        let last_end = self.offset(last.src)? + last.src.len();
        let first_start = self.offset(first.src)?;
        let closed = last_end < line_start + source.len();
        // The markers before the first run are part of what is shown.
        let from = source[..first_start.saturating_sub(line_start).min(source.len())]
            .rfind(|c: char| !matches!(c, '*' | '_' | '~' | '`'))
            .map_or(0, |i| i + 1);
        (!closed).then(|| &source[from..])
    }

    /// A source line as written: text, with its mentions and addresses.
    fn plain(&self, source: &str) -> Vec<Inline> {
        self.text(source)
    }

    /// Text: the mentions written inside it split out, addresses linked.
    fn text(&self, text: &str) -> Vec<Inline> {
        let mut out = Vec::new();
        let mut at = 0;
        if let Some(start) = self.offset(text) {
            let end = start + text.len();
            for mention in self.mentions {
                let (m_start, m_end) = (mention.start as usize, mention.end as usize);
                if m_start < start + at || m_end > end || m_end <= m_start {
                    continue;
                }
                let (from, to) = (m_start - start, m_end - start);
                let (Some(before), Some(written)) = (text.get(at..from), text.get(from..to)) else {
                    continue;
                };
                links(before, &mut out);
                out.push(Inline::Mention(mention.clone(), written.to_owned()));
                at = to;
            }
        }
        links(&text[at..], &mut out);
        out
    }
}

/// `text` with its addresses as links, appended to `out`.
fn links(text: &str, out: &mut Vec<Inline>) {
    if text.is_empty() {
        return;
    }
    for span in linkify::LinkFinder::new().spans(text) {
        let piece = span.as_str().to_owned();
        let href = match span.kind() {
            Some(linkify::LinkKind::Url) => safe_href(&piece).map(str::to_owned),
            Some(linkify::LinkKind::Email) => Some(format!("mailto:{piece}")),
            _ => None,
        };
        match href {
            Some(href) => out.push(Inline::Link { href, children: vec![Inline::Text(piece)] }),
            None => out.push(Inline::Text(piece)),
        }
    }
}

/// The plain text of inlines (what a screen reader or a notification would say).
pub fn plain_text(blocks: &[Block]) -> String {
    fn inline(out: &mut String, inlines: &[Inline]) {
        for i in inlines {
            match i {
                Inline::Text(t) | Inline::Code(t) | Inline::Mention(_, t) => out.push_str(t),
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inline(out, c),
                Inline::Link { children, .. } => inline(out, children),
                Inline::Break => out.push('\n'),
            }
        }
    }
    let mut out = String::new();
    for block in blocks {
        if !out.is_empty() {
            out.push('\n');
        }
        match block {
            Block::Paragraph(i) => inline(&mut out, i),
            Block::Code(c) => out.push_str(c),
            Block::Quote(b) => out.push_str(&plain_text(b)),
            Block::List { items, .. } => {
                let texts: Vec<String> = items.iter().map(|i| plain_text(i)).collect();
                out.push_str(&texts.join("\n"));
            }
            Block::Rule => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    fn para(inlines: Vec<Inline>) -> Block {
        Block::Paragraph(inlines)
    }

    #[test]
    fn plain_text_is_one_paragraph() {
        assert_eq!(parse("hello there", &[]), vec![para(vec![text("hello there")])]);
    }

    #[test]
    fn formats_the_subset() {
        assert_eq!(
            parse("**b** *i* ~~s~~ `c`", &[]),
            vec![para(vec![
                Inline::Strong(vec![text("b")]),
                text(" "),
                Inline::Emphasis(vec![text("i")]),
                text(" "),
                Inline::Strike(vec![text("s")]),
                text(" "),
                Inline::Code("c".into()),
            ])]
        );
        assert_eq!(
            parse("```\nfn main() {}\n  x\n```", &[]),
            vec![Block::Code("fn main() {}\n  x".into())]
        );
        assert_eq!(
            parse("> quoted\n\nafter", &[]),
            vec![Block::Quote(vec![para(vec![text("quoted")])]), para(vec![text("after")]),]
        );
        assert_eq!(
            parse("- a\n- b", &[]),
            vec![Block::List {
                start: None,
                items: vec![vec![para(vec![text("a")])], vec![para(vec![text("b")])]],
            }]
        );
    }

    #[test]
    fn line_breaks_are_kept() {
        assert_eq!(
            parse("one\ntwo", &[]),
            vec![para(vec![text("one"), Inline::Break, text("two")])]
        );
    }

    #[test]
    fn addresses_become_links_and_other_schemes_stay_text() {
        let link =
            |href: &str, t: &str| Inline::Link { href: href.into(), children: vec![text(t)] };
        assert_eq!(
            parse("see https://example.com/a?b=1 now", &[]),
            vec![para(vec![
                text("see "),
                link("https://example.com/a?b=1", "https://example.com/a?b=1"),
                text(" now"),
            ])]
        );
        // `[words](url)` is not in the subset: the address is still a link.
        assert_eq!(
            parse("[docs](https://example.com)", &[]),
            vec![para(vec![
                text("[docs]("),
                link("https://example.com", "https://example.com"),
                text(")"),
            ])]
        );
        assert_eq!(
            parse("mail ada@example.com", &[]),
            vec![para(vec![text("mail "), link("mailto:ada@example.com", "ada@example.com"),])]
        );
        for attack in [
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click](java\tscript:alert(1))",
            "[click](data:text/html,<script>alert(1)</script>)",
            "[click](vbscript:x)",
            "[click](/relative)",
            "<javascript:alert(1)>",
            "![img](javascript:alert(1))",
        ] {
            let blocks = parse(attack, &[]);
            assert!(!has_link(&blocks), "{attack} made a link: {blocks:?}");
        }
        // An image is never loaded: its address is a link.
        assert!(has_link(&parse("![cat](https://example.com/cat.png)", &[])));
    }

    #[test]
    fn safe_href_allows_only_web_and_mail() {
        assert!(safe_href("https://example.com").is_some());
        assert!(safe_href("HTTP://example.com").is_some());
        assert!(safe_href("mailto:ada@example.com").is_some());
        for bad in
            ["javascript:alert(1)", " https://x", "https://x y", "https:", "ftp://x", "//x", "x"]
        {
            assert!(safe_href(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn html_is_text() {
        let blocks = parse("<b>hi</b> <script>alert(1)</script>", &[]);
        assert_eq!(plain_text(&blocks), "<b>hi</b> <script>alert(1)</script>");
        assert!(!has_link(&blocks));
    }

    #[test]
    fn mentions_survive_formatting_and_splits() {
        let body = "hi @ada_l, **@ada_l** `@ada_l`";
        let m =
            |start: usize, end: usize| Mention { start: start as u32, end: end as u32, user: None };
        let mentions = [m(3, 9), m(13, 19), m(24, 30)];
        let blocks = parse(body, &mentions);
        assert_eq!(
            blocks,
            vec![para(vec![
                text("hi "),
                Inline::Mention(m(3, 9), "@ada_l".into()),
                text(", "),
                Inline::Strong(vec![Inline::Mention(m(13, 19), "@ada_l".into())]),
                text(" "),
                // In code, a mention is code.
                Inline::Code("@ada_l".into()),
            ])]
        );
    }

    #[test]
    fn nothing_nests() {
        // A quote of quotes is one quote (the renderer's recursion stays shallow whatever the
        // input).
        let body = format!("{} deep", ">".repeat(2000));
        let blocks = parse(&body, &[]);
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|b| match b {
                    Block::Quote(inner) => 1 + depth(inner),
                    Block::List { items, .. } => {
                        1 + items.iter().map(|i| depth(i)).max().unwrap_or(0)
                    }
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert!(depth(&blocks) <= 1);
        assert!(plain_text(&blocks).ends_with("deep"));
    }

    #[test]
    fn unbalanced_markup_is_text() {
        for body in ["``` never closed `x", "**bold", "[a](https://x.com", "~~s"] {
            assert_eq!(plain_text(&parse(body, &[])), body);
        }
        assert_eq!(parse("> **bold", &[]), vec![Block::Quote(vec![para(vec![text("**bold")])])]);
        for body in ["| a | b |", "a | b", "|---|---|"] {
            assert_eq!(plain_text(&parse(body, &[])), body, "{body}");
        }
        let long = "a".repeat(4000);
        assert_eq!(plain_text(&parse(&long, &[])), long);
    }

    fn has_link(blocks: &[Block]) -> bool {
        fn inl(i: &[Inline]) -> bool {
            i.iter().any(|i| match i {
                Inline::Link { .. } => true,
                Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inl(c),
                _ => false,
            })
        }
        blocks.iter().any(|b| match b {
            Block::Paragraph(i) => inl(i),
            Block::Quote(b) => has_link(b),
            Block::List { items, .. } => items.iter().any(|i| has_link(i)),
            _ => false,
        })
    }

    proptest! {
        // Any text parses without panicking, and every link it makes is an allowed one.
        #[test]
        fn any_text_parses_to_safe_links(body in "[-*_`~>\\[\\]()<>!#a-z:/@ \n]{0,200}") {
            let blocks = parse(&body, &[]);
            fn check(blocks: &[Block]) {
                fn inl(i: &[Inline]) {
                    for i in i {
                        match i {
                            Inline::Link { href, children } => { assert!(safe_href(href).is_some(), "{href}"); inl(children) }
                            Inline::Strong(c) | Inline::Emphasis(c) | Inline::Strike(c) => inl(c),
                            _ => {}
                        }
                    }
                }
                for b in blocks {
                    match b {
                        Block::Paragraph(i) => inl(i),
                        Block::Quote(b) => check(b),
                        Block::List { items, .. } => items.iter().for_each(|i| check(i)),
                        _ => {}
                    }
                }
            }
            check(&blocks);
        }
    }
}
