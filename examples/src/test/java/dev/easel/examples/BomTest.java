package dev.easel.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * easel-bom lists every published module of the build, and only those: a module is published unless its POM sets
 * {@code maven.deploy.skip}. A new library module that is not added to the BOM fails here.
 */
class BomTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void bom_managesEveryPublishedModule_atTheBuildsVersion_andNothingElse() throws Exception {
        Document parent = read(ROOT.resolve("pom.xml"));
        String version = child(parent.getDocumentElement(), "version").getTextContent().trim();
        TreeSet<String> published = new TreeSet<>();
        for (Element module : elements(child(parent.getDocumentElement(), "modules"), "module")) {
            Document pom = read(ROOT.resolve(module.getTextContent().trim()).resolve("pom.xml"));
            Element project = pom.getDocumentElement();
            Element packaging = child(project, "packaging");
            boolean pomOnly = packaging != null && packaging.getTextContent().trim().equals("pom");
            if (!pomOnly && !skipsDeploy(project)) {
                published.add(child(project, "artifactId").getTextContent().trim());
            }
        }

        Element bom = read(ROOT.resolve("easel-bom/pom.xml")).getDocumentElement();
        assertThat(child(bom, "parent")).as("the BOM must not pass easel-parent's dependency versions on").isNull();
        assertThat(child(bom, "version").getTextContent().trim()).isEqualTo(version);
        TreeSet<String> listed = new TreeSet<>();
        for (Element dep : elements(child(child(bom, "dependencyManagement"), "dependencies"), "dependency")) {
            assertThat(child(dep, "groupId").getTextContent().trim()).isEqualTo("dev.easel");
            assertThat(child(dep, "version").getTextContent().trim()).isEqualTo("${project.version}");
            listed.add(child(dep, "artifactId").getTextContent().trim());
        }
        assertThat(published).contains("easel-core", "easel-proxy");
        assertThat(listed).isEqualTo(published);
    }

    private static boolean skipsDeploy(Element project) {
        Element props = child(project, "properties");
        Element skip = props == null ? null : child(props, "maven.deploy.skip");
        return skip != null && skip.getTextContent().trim().equals("true");
    }

    private static Document read(Path pom) throws Exception {
        assertThat(pom).exists();
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(Files.newInputStream(pom));
    }

    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    private static List<Element> elements(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }
}
