package io.texforce.clip.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The clean-up before word splitting; expected strings were checked against Python's html.unescape. */
class TextCleanerTest {
    @Test
    void htmlUnescapeFollowsPython() {
        assertEquals("Tom & Jerry <3", HtmlEntities.unescape("Tom &amp; Jerry &lt;3"));
        assertEquals("& &x <3", HtmlEntities.unescape("&amp &ampx &lt3"), "legacy names need no semicolon");
        assertEquals("\u00ACit;", HtmlEntities.unescape("&notit;"), "longest legacy prefix");
        assertEquals("A A A", HtmlEntities.unescape("&#65; &#x41 &#X41;"));
        assertEquals("\u2013 \u0081 \uFFFD \uFFFD \uFFFD |", HtmlEntities.unescape("&#150; &#129; &#0; &#xD800; &#99999999999; &#1;|"));
        assertEquals("\uD83D\uDE00", HtmlEntities.unescape("&#x1F600;"));
        assertEquals("\u2026 \u2019 \u00E9 \u00C6", HtmlEntities.unescape("&hellip; &rsquo; &eacute; &AElig;"));
        assertEquals("&#; &#x; &foo; & ;", HtmlEntities.unescape("&#; &#x; &foo; & ;"));
        assertEquals("&alpha;", HtmlEntities.unescape("&alpha;"), "outside the supported names");
    }

    @Test
    void ftfyUnescapingNeedsTheSemicolon() {
        assertEquals("& &amp &#65x; A", HtmlEntities.unescapeTerminated("&amp; &amp &#65x; &#65;"));
    }

    @Test
    void ftfyUnescapesRepeatedlyUnlessTheTextHasALessThanSign() {
        // ftfy unescapes until nothing changes, then CLIP unescapes twice more.
        assertEquals("a & b", TextCleaner.clean("a &amp;amp;amp;amp; b"));
        // A literal '<' makes ftfy treat the text as HTML, leaving only CLIP's two passes.
        assertEquals("<a> &amp;amp;", TextCleaner.clean("<a> &amp;amp;amp;amp;"));
        // ftfy decides line by line, and a '<' also switches its unescaping off for the lines after it.
        assertEquals("& <b>", TextCleaner.clean("&amp;amp;amp;\n<b>"));
        assertEquals("<b> &amp; &amp;", TextCleaner.clean("<b>\n&amp;amp;amp;\n&amp;amp;amp;"));
    }

    @Test
    void ftfyCharacterFixes() {
        assertEquals("it's \"fine\"", TextCleaner.clean("It\u2019s \u201Cfine\u201D"));
        assertEquals("\"hi\" \u2026", TextCleaner.clean("\u0093hi\u0094 \u0085"), "C1 controls read as Windows-1252");
        assertEquals("fluffiest", TextCleaner.clean("\uFB02u\uFB03est"));
        assertEquals("loud noises", TextCleaner.clean("\uFF2C\uFF2F\uFF35\uFF24\u3000\uFF2E\uFF2F\uFF29\uFF33\uFF25\uFF33"));
        assertEquals("red", TextCleaner.clean("\u001B[31mred\u001B[0m\u0000\uFEFF"));
        assertEquals("caf\u00E9", TextCleaner.clean("CAFE\u0301"), "NFC composes e + combining acute");
        assertEquals("a\uFFFDb", TextCleaner.clean("a\uD800b"), "an unpaired surrogate is replaced");
    }

    @Test
    void whitespaceCollapsesToSingleSpacesAndTrims() {
        assertEquals("a dog on the moon!!", TextCleaner.clean("A  dog \t on\u00A0the\u2003moon!!\n "));
        assertEquals("", TextCleaner.clean(" \u3000\u2029 "));
    }
}
