"""Unit tests of the sample app, run by its build: python3 -m unittest discover -s tests -v"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import greeter  # noqa: E402


class GreeterTest(unittest.TestCase):
    def test_greeting(self):
        self.assertEqual(greeter.greeting("pipeline"), "Hello, pipeline!")

    def test_page_names_the_commit_and_escapes(self):
        page = greeter.render("<you>", "0123abc")
        self.assertIn("<h1>Hello, &lt;you&gt;!</h1>", page)
        self.assertIn("<code>0123abc</code>", page)


if __name__ == "__main__":
    unittest.main()
