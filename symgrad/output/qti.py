"""Canvas QTI 1.2: the sheet's asked answers as a zip that Canvas (classic quizzes) imports.

The package is an IMS content package:

    imsmanifest.xml                 <manifest identifier=...><resources><resource
                                      identifier=A type="imsqti_xmlv1p2"><file href="A/A.xml"/>
    A/A.xml                         <questestinterop><assessment ident=A title=...>
                                      <section ident="root_section"> items, or a section per
                                      answer with <selection_ordering> picking 1 of the variants
    A/assessment_meta.xml           Canvas's quiz settings (title, points)

Each asked answer is one item of type numerical_question (Canvas has no numerical blanks
within one question): the part's statement, the question "Give ... to p significant figures",
a <render_fib fibtype="Decimal"> response, and a <respcondition> that scores 100 for the exact
value or a value within the tolerance (<vargte>/<varlte>), as Canvas itself exports them.  The
worked key is the item's general feedback.  Identifiers are derived from the content, and the
zip's dates are fixed, so the same input gives the same bytes.

Figures (SVG, see svg.py) are files of the package, where Canvas's own export puts them and
refers to them:

    web_resources/Uploaded Media/fig-HASH.svg     a <resource type="webcontent"> in the manifest
    <img src="$IMS-CC-FILEBASE$/Uploaded%20Media/fig-HASH.svg" alt="what it shows">
"""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence

from symgrad.output.answers import Asked, Item
from symgrad.output.markdown import one_line
from symgrad.output.moodle import clean, plain
from symgrad.output.svg import files_of

QTI = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
MANIFEST = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
CANVAS = "http://canvas.instructure.com/xsd/cccv1p0"
DATE = (1980, 1, 1, 0, 0, 0)  # the zip's timestamps: fixed, for identical files
MEDIA = "Uploaded Media"  # the folder of web_resources/ that Canvas puts a quiz's files in


def ident(*parts: str) -> str:
    """A stable identifier: a letter, then hex digits of the content's hash."""
    return "g" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def qti_zip(title: str, variants: Sequence[tuple[str, Sequence[Item]]], precision: int) -> bytes:
    """The zip of one sheet (variants = [("", items)]) or of its variants, each answer a question
    group of its variants."""
    title = one_line(title) or "symgrad"
    assessment = ident("assessment", title, *(vid for vid, _ in variants))
    several = len(variants) > 1 or bool(variants and variants[0][0])
    root = ET.Element("questestinterop", xmlns=QTI)
    test = ET.SubElement(root, "assessment", ident=assessment, title=clean(title))
    meta(test, [("cc_maxattempts", "1")])
    section = ET.SubElement(test, "section", ident="root_section")
    groups: dict[str, list[ET.Element]] = {}
    media: dict[str, bytes] = {}  # the figures, by file name
    for vid, items in variants:
        for item in items:
            for a in item.answers:
                name = f"{title} {item.name} {a.key.split(':')[-1]} {vid}".strip()
                groups.setdefault(a.key, []).append(numerical_item(name, item, a, precision,
                                                                   ident(assessment, vid, a.key), media))
    points = 0
    for key, questions in groups.items():
        points += 1
        if several:
            group = ET.SubElement(section, "section", ident=ident(assessment, "group", key),
                                  title=clean(key))
            ordering = ET.SubElement(group, "selection_ordering")
            selection = ET.SubElement(ordering, "selection")
            ET.SubElement(selection, "selection_number").text = "1"
            extension = ET.SubElement(selection, "selection_extension")
            ET.SubElement(extension, "points_per_item").text = "1.0"
            group.extend(questions)
        else:
            section.extend(questions)
    ET.indent(root)
    body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, data in (("imsmanifest.xml", manifest(assessment, sorted(media))),
                           (f"{assessment}/{assessment}.xml", body),
                           (f"{assessment}/assessment_meta.xml", assessment_meta(assessment, title, points)),
                           *((f"web_resources/{MEDIA}/{n}", media[n]) for n in sorted(media))):
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            package.writestr(info, data)
    return out.getvalue()


def meta(parent: ET.Element, fields: Sequence[tuple[str, str]]) -> None:
    metadata = ET.SubElement(parent, "qtimetadata")
    for label, entry in fields:
        field = ET.SubElement(metadata, "qtimetadatafield")
        ET.SubElement(field, "fieldlabel").text = label
        ET.SubElement(field, "fieldentry").text = entry


def mattext(parent: ET.Element, html: str, media: dict[str, bytes]) -> None:
    """HTML material; its figures become files of the package (collected in `media`)."""
    html, files = files_of(html, f"$IMS-CC-FILEBASE$/{MEDIA.replace(' ', '%20')}/")
    media.update(files)
    material = ET.SubElement(parent, "material")
    ET.SubElement(material, "mattext", texttype="text/html").text = clean(html)


def numerical_item(name: str, item: Item, a: Asked, precision: int, item_ident: str,
                   media: dict[str, bytes]) -> ET.Element:
    node = ET.Element("item", ident=item_ident, title=clean(one_line(name)[:250]))
    meta(ET.SubElement(node, "itemmetadata"), [("question_type", "numerical_question"),
                                               ("points_possible", "1.0")])
    presentation = ET.SubElement(node, "presentation")
    what = f" {a.what}" if a.what else ""
    mattext(presentation, item.statement +
            f"<p>Give \\({a.label}\\){what}, to {precision} significant figures.</p>", media)
    response = ET.SubElement(presentation, "response_str", ident="response1", rcardinality="Single")
    fib = ET.SubElement(response, "render_fib", fibtype="Decimal")
    ET.SubElement(fib, "response_label", ident="answer1")
    processing = ET.SubElement(node, "resprocessing")
    outcomes = ET.SubElement(processing, "outcomes")
    ET.SubElement(outcomes, "decvar", maxvalue="100", minvalue="0", varname="SCORE", vartype="Decimal")
    general = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
    ET.SubElement(ET.SubElement(general, "conditionvar"), "other")
    ET.SubElement(general, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
    right = ET.SubElement(processing, "respcondition", {"continue": "No"})
    either = ET.SubElement(ET.SubElement(right, "conditionvar"), "or")
    ET.SubElement(either, "varequal", respident="response1").text = plain(a.value)
    window = ET.SubElement(either, "and")
    ET.SubElement(window, "vargte", respident="response1").text = plain(a.value - a.tolerance)
    ET.SubElement(window, "varlte", respident="response1").text = plain(a.value + a.tolerance)
    ET.SubElement(right, "setvar", action="Set", varname="SCORE").text = "100"
    feedback = ET.SubElement(node, "itemfeedback", ident="general_fb")
    mattext(ET.SubElement(feedback, "flow_mat"), item.solution, media)
    return node


def manifest(assessment: str, media: Sequence[str] = ()) -> str:
    root = ET.Element("manifest", identifier=ident("manifest", assessment), xmlns=MANIFEST)
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Content"
    ET.SubElement(metadata, "schemaversion").text = "1.1.3"
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    dependency = ident("dependency", assessment)
    resource = ET.SubElement(resources, "resource", identifier=assessment, type="imsqti_xmlv1p2")
    ET.SubElement(resource, "file", href=f"{assessment}/{assessment}.xml")
    ET.SubElement(resource, "dependency", identifierref=dependency)
    meta_file = f"{assessment}/assessment_meta.xml"
    extra = ET.SubElement(resources, "resource", identifier=dependency,
                          type="associatedcontent/imscc_xmlv1p1/learning-application-resource",
                          href=meta_file)
    ET.SubElement(extra, "file", href=meta_file)
    for name in media:  # each figure: web content, as Canvas lists a quiz's files
        href = f"web_resources/{MEDIA}/{name}"
        figure = ET.SubElement(resources, "resource", identifier=ident("media", assessment, name),
                               type="webcontent", href=href)
        ET.SubElement(figure, "file", href=href)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def assessment_meta(assessment: str, title: str, points: int) -> str:
    root = ET.Element("quiz", identifier=assessment, xmlns=CANVAS)
    for tag, value in (("title", clean(title)), ("description", ""), ("shuffle_answers", "false"),
                       ("scoring_policy", "keep_highest"), ("quiz_type", "assignment"),
                       ("points_possible", f"{points:.1f}"), ("allowed_attempts", "1"),
                       ("show_correct_answers", "true"), ("available", "false")):
        ET.SubElement(root, tag).text = value
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
