"""Rebuild pydoc_qa.jsonl (eval) and pydoc_train.jsonl (fine-tuning) from `pydoc_data.topics`.

    python -m llmops_nb.data.eval.build          # rewrites both files next to this module
    python -m llmops_nb.data.eval.build --check  # verifies the shipped files match, writes nothing

The eval pairs below are hand-written. Each carries an `evidence` pattern that must match the text of its
pydoc topic, so every answer is checked against the reference it claims to come from (the pattern is not
shipped). The training pairs are generated from the topic texts (the first sentence of a topic, of a
str/dict method's description, of a special method's description) plus a few hand-written ones, and then
filtered so that none repeats an eval question or an eval answer (see `_contaminated`).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent

# (question, answer, topic, evidence regex in topics[topic])
EVAL = [
    ("How do I catch several exceptions in one except clause?",
     "Put them in a tuple: except (TypeError, ValueError):", "try", r"a tuple containing an item that is the class"),
    ("When does the finally clause of a try statement run?",
     "Always, as the try statement is left, whether or not an exception occurred.", "try",
     r"Since the \"finally\" clause always executes"),
    ("When is the else clause of a try statement executed?",
     "When the try suite finishes without raising an exception and without return, continue or break.", "try",
     r"optional \"else\" clause is executed if the control flow leaves the \"try\""),
    ("What does the pass statement do?",
     "Nothing; it is a null operation used where a statement is required syntactically.", "pass",
     r"null operation"),
    ("What kind of object does a lambda expression create?",
     "An anonymous function.", "lambda", r"create anonymous functions"),
    ("Can a lambda expression contain statements or annotations?",
     "No; a lambda holds a single expression and cannot contain statements or annotations.", "lambda",
     r"cannot contain statements or annotations"),
    ("What does break do inside a loop?",
     "It ends the nearest enclosing loop, skipping the loop's else clause.", "break",
     r"terminates the nearest enclosing loop, skipping the optional \"else\""),
    ("What does the continue statement do?",
     "It continues with the next cycle of the nearest enclosing loop.", "continue",
     r"continues with the next cycle of the nearest enclosing loop"),
    ("When does the else clause of a while loop run?",
     "When the loop condition is false, not when the loop is left with break.", "while",
     r"if the expression is false .* the suite of the \"else\" clause"),
    ("When does the else clause of a for loop run?",
     "When the items are exhausted, that is when the loop ends without break.", "for",
     r"When the iterator is exhausted, the suite in the \"else\" clause"),
    ("What does the global statement do?",
     "It makes the listed names refer to global variables in the current code block.", "global",
     r"listed identifiers are to be interpreted as globals"),
    ("What does the nonlocal statement do?",
     "It makes the listed names refer to variables bound in the nearest enclosing function scope, not globals.",
     "nonlocal", r"nearest enclosing scope excluding globals"),
    ("What does del do to a plain name?",
     "It removes the binding of the name from the local or global namespace.", "del",
     r"removes the binding of that name"),
    ("What does a return statement without an expression return?",
     "None.", "return", r"else \"None\" is substituted"),
    ("What does using yield in a function body do?",
     "It makes the function a generator function.", "yield",
     r"sufficient to cause that definition to create a generator function"),
    ("What exception does a failing assert statement raise?",
     "AssertionError.", "assert", r"raise AssertionError"),
    ("Are assert statements executed when Python runs with optimization (-O)?",
     "No; no code is generated for them when __debug__ is false.", "assert",
     r"emits no code for an assert statement when optimization is requested"),
    ("How do I chain a new exception to the one that caused it?",
     "Use raise NewError(...) from original_exception.", "raise", r"\"from\" clause is used for exception chaining"),
    ("What does a bare raise statement do?",
     "It re-raises the exception that is currently being handled.", "raise",
     r"re-raises the exception that is currently being handled"),
    ("Which two methods does a context manager implement?",
     "__enter__() and __exit__().", "context-managers", r"object.__enter__\(self\)"),
    ("Can one with statement manage several context managers?",
     "Yes; list them separated by commas, which works like nested with statements.", "with",
     r"With more than one item, the context managers are processed as if multiple"),
    ("Which names does 'from module import *' import when the module defines __all__?",
     "Only the names listed in __all__.", "import", r"names given in \"__all__\" are all considered public"),
    ("What does 'import a.b.c' bind in the local namespace?",
     "Only the top-level package name a.", "import", r"top level package"),
    ("Can a list be used as a dictionary key?",
     "No; keys must be hashable, and mutable containers such as lists are not.", "typesmapping",
     r"Values that are not \*hashable\*, that is, values containing lists"),
    ("What does dict.get(key, default) return when the key is missing?",
     "The default, or None if no default is given; it never raises KeyError.", "typesmapping",
     r"never raises a \"KeyError\""),
    ("Do dictionaries keep the order in which keys were inserted?",
     "Yes, dictionaries preserve insertion order.", "typesmapping", r"Dictionaries preserve insertion order"),
    ("What happens when a dict display lists the same key twice?",
     "The last value given for that key wins.", "dict", r"value for that key will be the last one given"),
    ("What does s * n do for a sequence s and an integer n?",
     "It is s added to itself n times (an empty sequence if n is 0 or less).", "typesseq",
     r"equivalent to adding \*s\* to \| \(2\)\(7\) \| \| \| itself \*n\* times"),
    ("Are tuples mutable?",
     "No, tuples are immutable sequences.", "typesseq", r"Tuples are immutable sequences"),
    ("Does a range object store all of its items in memory?",
     "No; it stores only start, stop and step and computes items as needed.", "typesseq",
     r"only stores the \"start\", \"stop\" and \"step\" values"),
    ("In s[i:j:k], what does k mean?",
     "The step of the slice.", "typesseq", r"slice of \*s\* from \*i\* to \*j\* with step \*k\*"),
    ("What does list.append(x) do?",
     "It adds x to the end of the list.", "typesseq-mutable", r"appends \*x\* to the end of the"),
    ("What does str.strip() remove when called without arguments?",
     "Leading and trailing whitespace.", "string-methods", r"defaults\s+to removing whitespace"),
    ("What does str.join(iterable) return?",
     "The strings of the iterable concatenated, with the string as the separator.", "string-methods",
     r"concatenation of the strings in \*iterable\*"),
    ("What does str.split() with no arguments split on?",
     "Runs of consecutive whitespace, with no empty strings in the result.", "string-methods",
     r"runs of consecutive whitespace are regarded as a single separator"),
    ("What does the '>' alignment option do in a format specification?",
     "It right-aligns the field within the available space.", "formatstrings",
     r"Forces the field to be right-aligned within the available"),
    ("How do I put a literal brace in a str.format string?",
     "Double it: {{ or }}.", "formatstrings", r"doubling"),
    ("What does the ',' option in a format specification do?",
     "It uses a comma as the thousands separator.", "formatstrings", r"comma for a thousands separator"),
    ("What is a raw string literal?",
     "A string prefixed with r or R, in which backslashes are treated as literal characters.", "strings",
     r"called \*raw strings\* and treat backslashes as literal characters"),
    ("What does the b prefix on a string literal produce?",
     "A bytes literal, an instance of bytes instead of str.", "strings",
     r"produce an instance of the \"bytes\" type"),
    ("Is there a limit on how large a Python integer can be?",
     "No limit apart from the available memory.", "integers", r"no limit for the length of integer literals"),
    ("What are underscores in a numeric literal like 1_000_000 for?",
     "Grouping digits for readability; they are ignored.", "integers", r"Underscores are ignored"),
    ("How do I write an imaginary number literal?",
     "A number followed by j or J, such as 3.14j.", "imaginary", r"An imaginary literal yields a complex number"),
    ("What is the difference between 'is' and '=='?",
     "'is' tests object identity, while '==' compares values.", "comparisons",
     r"test for an object’s identity"),
    ("How is a chained comparison like a < b < c evaluated?",
     "As a < b and b < c, except that b is evaluated only once.", "comparisons",
     r"except that \"y\" is evaluated only once"),
    ("What does the expression 'x or y' return?",
     "x if x is true, otherwise y.", "booleans", r"The expression \"x or y\" first evaluates \*x\*; if \*x\* is true"),
    ("What does 'not x' return?",
     "True if x is false, otherwise False.", "booleans", r"operator \"not\" yields \"True\" if its argument is false"),
    ("Which values count as false in a truth test?",
     "None, False, zero of any numeric type, and empty sequences and collections.", "truth",
     r"constants defined to be false: \"None\" and \"False\""),
    ("What does the // operator compute?",
     "Floor division: the quotient rounded down.", "binary", r"floor division"),
    ("What sign does the result of the % operator have?",
     "The sign of the second operand (or zero).", "binary", r"same sign as its second operand"),
    ("What does 10 ** -2 return?",
     "0.01, a float.", "power", r"\"10\*\*-2\" returns \"0.01\""),
    ("Does ** bind more tightly than a unary minus on its left?",
     "Yes; -1**2 is -1.", "power", r"\"-1\*\*2\" results in \"-1\""),
    ("What happens when 0.0 is raised to a negative power?",
     "A ZeroDivisionError is raised.", "power", r"Raising \"0.0\" to a negative power results in a \"ZeroDivisionError\""),
    ("What is x << n equivalent to?",
     "Multiplying x by pow(2, n).", "shifting", r"left shift by \*n\* bits is defined as multiplication"),
    ("What does the ~ operator compute for an integer x?",
     "The bitwise inversion, -(x+1).", "unary", r"bitwise inversion of \"x\" is defined as \"-\(x\+1\)\""),
    ("What does the ^ operator compute for two integers?",
     "Their bitwise exclusive OR (XOR).", "bitwise", r"operator yields the bitwise XOR \(exclusive OR\)"),
    ("What does a negative index mean for a sequence?",
     "It counts from the end: the sequence's length is added to it.", "subscriptions",
     r"interprets negative indices by adding the length of the sequence"),
    ("What does *args do in a function call?",
     "It unpacks the iterable into additional positional arguments.", "calls",
     r"\"\*expression\" appears in the function call"),
    ("What does **kwargs do in a function call?",
     "It unpacks the mapping into additional keyword arguments.", "calls",
     r"\"\*\*expression\" appears in the function call"),
    ("When are default parameter values evaluated?",
     "Once, when the function definition is executed.", "function",
     r"Default parameter values are evaluated from left to right when the\s+function definition is executed"),
    ("Why is a mutable default argument such as a list risky?",
     "The same object is shared by every call, so changes to it persist between calls.", "function",
     r"same “pre- computed” value is used for each call"),
    ("What does a bare * in a function's parameter list mean?",
     "The parameters after it are keyword-only.", "function",
     r"Parameters after “\"\*\"” or “\"\*identifier\"” are keyword-only"),
    ("Where are a function's annotations stored?",
     "In its __annotations__ attribute.", "function", r"__annotations__"),
    ("What is the base class of a class defined without a base list?",
     "object.", "class", r"inherit, by default, from the base class \"object\""),
    ("Which method creates a new instance before __init__ is called?",
     "__new__().", "customization", r"Called to create a new instance of class"),
    ("What is the difference between __repr__ and __str__?",
     "__repr__ gives the official, unambiguous representation; __str__ the informal, nicely printable one.",
     "customization", r"“official” string representation"),
    ("What must hold between __hash__ and __eq__?",
     "Objects that compare equal must have the same hash value.", "customization",
     r"objects which compare equal have the same hash\s+value"),
    ("What happens to __hash__ when a class defines __eq__ but not __hash__?",
     "__hash__ is set to None, so instances are unhashable.", "customization",
     r"does not define \"__hash__\(\)\" will have its \"__hash__\(\)\" implicitly set to \"None\""),
    ("When is __getattr__ called?",
     "When normal attribute lookup fails with AttributeError.", "attribute-access",
     r"Called when the default attribute access fails with an\s+\"AttributeError\""),
    ("What does defining __slots__ in a class do?",
     "It reserves space for the declared attributes and prevents a per-instance __dict__ and __weakref__.",
     "attribute-access", r"prevents the automatic creation of\s+\"__dict__\" and \*__weakref__\*"),
    ("Which method does len() call on an object?",
     "__len__().", "sequence-types", r"Called to implement the built-in function \"len\(\)\""),
    ("Which method implements the 'in' membership test?",
     "__contains__().", "sequence-types", r"Called to implement membership test operators"),
    ("How do I make instances of my class callable like functions?",
     "Define a __call__() method.", "callable-types", r"Called when the instance is “called” as a function"),
    ("What should a method like __add__ return when it does not support the other operand?",
     "NotImplemented.", "numeric-types", r"it should return \"NotImplemented\""),
    ("Which methods does 'async with' call instead of __enter__ and __exit__?",
     "__aenter__() and __aexit__().", "async", r"__aenter__"),
    ("Where can an await expression be used?",
     "Only inside a coroutine function.", "await", r"Can only be used inside a \*coroutine function\*"),
    ("What happens when an exception is not handled anywhere?",
     "The interpreter ends the program (or returns to the interactive loop), usually printing a traceback.",
     "exceptions", r"terminates execution of the program, or returns to its\s+interactive main loop"),
    ("Do names bound in a class body extend into its methods' scopes?",
     "No; the class block's scope does not extend to the code blocks of methods.", "naming",
     r"does not extend to the code blocks of\s+methods"),
    ("How many None objects exist?",
     "Exactly one: None is a singleton.", "bltin-null-object", r"There is exactly one null object"),
    ("How is x += 1 different from x = x + 1?",
     "x is evaluated only once, and the operation is done in place when possible.", "augassign",
     r"In the augmented version, \"x\" is only evaluated once. Also, when possible, the actual operation is performed \*in-place\*"),
    ("In 'a, *rest = [1, 2, 3]', what is assigned to rest?",
     "A list of the remaining items: [2, 3].", "assignment",
     r"A list of the remaining items in the iterable is then assigned to the starred target"),
    ("Where does an annotated assignment at module level store the annotation?",
     "In the module's __annotations__ dictionary.", "assignment",
     r"stored in a special class or module attribute \"__annotations__\""),
    ("How do I enter the debugger at a specific point in my code?",
     "Call breakpoint() (or import pdb; pdb.set_trace()) there.", "debugger", r"breakpoint\(\)"),
    ("Which pdb command continues running until the next breakpoint?",
     "c (continue).", "debugger", r"c\(ont\(inue\)\)"),
    ("What happens to a class attribute named __spam?",
     "It is name-mangled to _ClassName__spam.", "atom-identifiers", r"_Ham__spam"),
    ("Does '1,' create a tuple?",
     "Yes; the trailing comma makes a one-element tuple.", "exprlists",
     r"trailing comma is required only to create a single tuple"),
    ("What happens when an int is added to a float?",
     "The int is converted to a float before the addition.", "conversions",
     r"other is converted to floating point"),
    ("What does the __mro__ attribute of a class hold?",
     "The tuple of classes searched, in order, when looking up methods.", "specialattrs",
     r"tuple of classes that are considered when looking for base\s+classes during method resolution"),
]

# Facts the eval asks about: generated training pairs never teach them (the answers would leak).
EXCLUDE_METHODS = {
    "strip", "lstrip", "rstrip", "join", "split", "rsplit", "get", "setdefault", "format",
    "__len__", "__contains__", "__call__", "__getattr__", "__getattribute__", "__new__", "__init__", "__str__",
    "__repr__", "__hash__", "__eq__", "__lt__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__add__",
    "__radd__", "__iadd__", "__neg__", "__invert__", "__bool__", "__slots__", "__set_name__", "__mro__",
    "__length_hint__", "__await__", "__aiter__", "__anext__",
}

# Hand-written training pairs: other facts than the eval's, in the same short-answer style.
TRAIN_HANDWRITTEN = [
    ("Which keyword defines a function?", "def.", "function"),
    ("Which keyword defines a class?", "class.", "class"),
    ("How do I write a comment in Python?", "Start it with a # character; it runs to the end of the line.", "compound"),
    ("Which statement is used for conditional execution?", "The if statement, with optional elif and else clauses.", "if"),
    ("Which statement loops over the items of an iterable?", "The for statement.", "for"),
    ("Which statement repeats a suite while a condition is true?", "The while statement.", "while"),
    ("What does the expression 'x and y' return?", "x if x is false, otherwise y.", "booleans"),
    ("What does the / operator return for two integers?", "A float holding the true quotient.", "binary"),
    ("What does the @ operator do?", "Matrix multiplication; no built-in Python type implements it.", "binary"),
    ("What is the result of 3 % 2?", "1.", "binary"),
    ("How do I test whether an item is absent from a list?", "Use 'x not in s'.", "in"),
    ("What does the & operator compute for two integers?", "Their bitwise AND.", "bitwise"),
    ("What does the | operator compute for two integers?", "Their bitwise (inclusive) OR.", "bitwise"),
    ("What is x >> n equivalent to for integers?", "Floor division of x by pow(2, n).", "shifting"),
    ("What does a conditional expression 'x if C else y' evaluate first?", "The condition C.", "booleans"),
    ("How do I write a hexadecimal integer literal?", "With the prefix 0x, as in 0xFF.", "integers"),
    ("How do I write a binary integer literal?", "With the prefix 0b, as in 0b1010.", "integers"),
    ("How do I write an octal integer literal?", "With the prefix 0o, as in 0o17.", "integers"),
    ("How do I write a float in scientific notation?", "With an exponent after e or E, as in 1e-3.", "floating"),
    ("What does an f-string start with?", "The prefix f or F before the opening quote.", "strings"),
    ("How do I write a string that spans several lines?", "Use triple quotes: three single or three double quotes.", "strings"),
    ("What does the escape sequence \\n mean in a string?", "A newline (ASCII linefeed).", "strings"),
    ("How is an empty tuple written?", "As a pair of empty parentheses: ().", "exprlists"),
    ("How is a set display written?", "With curly braces around the items, such as {1, 2}.", "typesseq"),
    ("How do I create an empty set?", "Call set(); {} creates an empty dictionary.", "dict"),
    ("Which keyword starts a block that handles exceptions?", "try.", "try"),
    ("Which statement signals an exception?", "raise.", "raise"),
    ("Which statement ends a function and gives back a value?", "return.", "return"),
    ("Which keyword imports a module?", "import.", "import"),
    ("Which statement is used to await a coroutine's result?", "The await expression inside an async function.", "await"),
    ("How do I define a coroutine function?", "With async def.", "async"),
    ("What does async for iterate over?", "An asynchronous iterable, calling __aiter__ and __anext__.", "async"),
    ("What is the Ellipsis object written as?", "Three dots: ... (or the name Ellipsis).", "bltin-ellipsis-object"),
    ("What does the type of a function's code object describe?", "The compiled, executable body of the function.", "bltin-code-objects"),
    ("How do I get an object's type?", "Call type(obj).", "bltin-type-objects"),
    ("What does dict.items() return?", "A view of the dictionary's (key, value) pairs.", "typesmapping"),
    ("What does dict.keys() return?", "A view of the dictionary's keys.", "typesmapping"),
    ("What does the pdb command 'n' do?", "It runs until the next line in the current function.", "debugger"),
    ("What does the pdb command 's' do?", "It steps into the next line, entering called functions.", "debugger"),
    ("What does the pdb command 'q' do?", "It quits the debugger and aborts the program.", "debugger"),
    ("What is a module's __name__?", "The module's name, a string.", "typesmodules"),
    ("Which built-in turns any object into its printable string?", "str().", "customization"),
    ("How do I get the number of items in a dictionary?", "Call len(d).", "typesmapping"),
    ("How do I remove every item from a list?", "Call s.clear() (or del s[:]).", "typesseq-mutable"),
    ("What does list.extend(t) do?", "It appends the items of the iterable t to the end of the list.", "typesseq-mutable"),
    ("What does list.insert(i, x) do?", "It inserts x into the list at index i.", "typesseq-mutable"),
    ("What does list.pop() return with no argument?", "The last item, which it also removes.", "typesseq-mutable"),
    ("What does list.remove(x) do?", "It removes the first item equal to x, raising ValueError if there is none.",
     "typesseq-mutable"),
    ("What does list.reverse() do?", "It reverses the list in place and returns None.", "typesseq-mutable"),
    ("What does s.copy() return for a list s?", "A shallow copy of s, the same as s[:].", "typesseq-mutable"),
    ("What does min(s) return for a sequence s?", "The smallest item of s.", "typesseq"),
    ("What does s.index(x) return?", "The index of the first occurrence of x in s.", "typesseq"),
    ("What does s.count(x) return?", "The total number of occurrences of x in s.", "typesseq"),
    ("What does s + t do for two sequences?", "It concatenates them.", "typesseq"),
    ("What is the result type of comparing two values with <?", "A bool, True or False.", "comparisons"),
    ("What does 'x not in s' return?", "The negation of 'x in s'.", "in"),
    ("Which operator tests that two names refer to different objects?", "'is not'.", "comparisons"),
    ("What does abs(x) call on an object?", "Its __abs__() method.", "numeric-types"),
    ("Which exception does int('abc') raise?", "ValueError.", "exceptions"),
    ("Which exception is raised for a missing dictionary key?", "KeyError.", "typesmapping"),
    ("Which exception is raised when a name is not found?", "NameError.", "naming"),
    ("What is a generator expression written with?", "Parentheses around an expression followed by a for clause.",
     "typesseq"),
    ("How do I write a list comprehension?", "Square brackets around an expression followed by a for clause, "
     "such as [x * 2 for x in items].", "lists"),
    ("How do I write a dict comprehension?", "Curly braces around key: value followed by a for clause, "
     "such as {k: v for k, v in pairs}.", "dict"),
    ("What does the walrus operator := do?", "It assigns to a name inside an expression and returns the value.",
     "assignment"),
    ("How do I declare a positional-only parameter?", "Put it before a / in the parameter list.", "function"),
    ("What does a decorator on a function do?", "It calls the decorator with the function and binds the result "
     "to the function's name.", "function"),
]


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s*\[\d+\]", "", text)  # footnote marks
    text = re.sub(r"\*([^*\s][^*]*?)\*", r"\1", text)  # *emphasis*
    text = re.sub(r"\"([^\"\s][^\"]*?)\"", r"\1", text)  # "code" as pydoc quotes it
    return text.strip()


def _first_sentence(paragraph: str, max_words: int = 32) -> str:
    text = _clean(paragraph)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text)
    first = parts[0].strip() if parts else ""
    if not first or len(first.split()) > max_words or len(first.split()) < 3:
        return ""
    if "::=" in first or "===" in first or "***" in first or not first[0].isupper() \
            or first.startswith(("New in version", "Changed in version", "Deprecated")):
        return ""  # a grammar rule or a heading, not a sentence
    first = first.rstrip(":").rstrip()
    return first if first.endswith((".", "!", "?")) else first + "."


def _pick(seq, key: str):
    return seq[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(seq)]


def _topic_pairs(topics: Dict[str, str]) -> List[dict]:
    out = []
    for key in sorted(topics):
        text = topics[key]
        lines = text.splitlines()
        if len(lines) < 3 or not set(lines[1].strip()) <= {"*", "="}:
            continue
        title = _clean(lines[0])
        body = "\n".join(lines[2:]).strip()
        paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip() and not p.startswith("   ")]
        if not paragraphs:
            continue
        answer = _first_sentence(paragraphs[0])
        if not answer:
            continue
        q = _pick(["What does the reference section '{t}' describe?", "Summarize '{t}' in one sentence.",
                   "What is '{t}' about?"], key).format(t=title)
        out.append({"prompt": q, "response": answer, "topic": key})
    return out


def _method_pairs(topics: Dict[str, str]) -> List[dict]:
    out = []
    text = topics["string-methods"]
    for m in re.finditer(r"^str\.(\w+)\(([^)\n]*)\)\n\n((?:   \S.*\n)+)", text, re.M):
        name, desc = m.group(1), m.group(3)
        if name in EXCLUDE_METHODS:
            continue
        answer = _first_sentence(desc)
        if answer:
            q = _pick(["What does str.{n}() do?", "What is str.{n}() for?", "Explain str.{n}() briefly."],
                      name).format(n=name)
            out.append({"prompt": q, "response": answer, "topic": "string-methods"})
    text = topics["typesmapping"]
    for m in re.finditer(r"^   (\w+)\(([^)\n]*)\)\n\n((?:      \S.*\n)+)", text, re.M):
        name, desc = m.group(1), m.group(3)
        if name in EXCLUDE_METHODS or name in ("items", "keys") or not hasattr(dict, name):
            continue
        answer = _first_sentence(desc)
        if answer:
            out.append({"prompt": _pick(["What does dict.{n}() do?", "What is the dict method {n}() for?"],
                                        name).format(n=name), "response": answer, "topic": "typesmapping"})
    seen = set()
    for key in ("specialnames", "customization", "attribute-access", "numeric-types", "sequence-types",
                "context-managers", "async"):
        for m in re.finditer(r"^object\.(__\w+__)\(([^)\n]*)\)\n(?:object\..*\n)*\n((?:   \S.*\n)+)", topics[key], re.M):
            name, desc = m.group(1), m.group(3)
            if name in EXCLUDE_METHODS or name in seen:
                continue
            seen.add(name)
            answer = _first_sentence(desc)
            if answer:
                q = _pick(["What is the special method {n}() for?", "When is {n}() called?",
                           "What does defining {n}() on a class do?"], name).format(n=name)
                out.append({"prompt": q, "response": answer, "topic": key})
    return out


def _tokens(text: str) -> List[str]:
    return re.findall(r"[a-z0-9_]+", text.lower())


_STOP = set("a an the of to in on at by for with and or is are be it its this that what which when where how "
             "why do does did can i my me you your called call x y s".split())


def _overlap(a: str, b: str, *, content: bool = False) -> float:
    """Token F1 between two strings (content=True: without stop words)."""
    ta, tb = _tokens(a), _tokens(b)
    if content:
        ta, tb = [t for t in ta if t not in _STOP], [t for t in tb if t not in _STOP]
    if not ta or not tb:
        return 0.0
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    if not common:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def _covers(text: str, question: str) -> float:
    """The share of the question's content words that `text` contains: a training answer that covers most of an
    eval question states the fact it asks about."""
    q = {t for t in _tokens(question) if t not in _STOP}
    if len(q) < 4:
        return 0.0
    words = {t for t in _tokens(text) if t not in _STOP}
    words |= {w[:-1] for w in words if w.endswith("s")}  # binds ~ bind, operators ~ operator
    return len(q & words) / len(q)


def _contaminated(pair: dict, evals: List[dict]) -> bool:
    """A training pair that repeats an eval question or teaches an eval answer (near-verbatim) is dropped."""
    for e in evals:
        if _overlap(pair["prompt"], e["question"]) >= 0.8:
            return True
        if len(_tokens(e["answer"])) >= 4 and _overlap(pair["response"], e["answer"]) >= 0.6:
            return True
        if _covers(pair["response"], e["question"]) >= 0.75:
            return True
    return False


def build() -> Dict[str, List[dict]]:
    from pydoc_data.topics import topics

    evals = []
    for i, (q, a, topic, evidence) in enumerate(EVAL, 1):
        if topic not in topics:
            raise SystemExit(f"eval {i}: unknown pydoc topic {topic!r}")
        if not re.search(evidence, " ".join(topics[topic].split())):  # evidence is matched on collapsed whitespace
            raise SystemExit(f"eval {i} ({q!r}): evidence {evidence!r} not found in topic {topic!r}")
        evals.append({"id": f"pydoc-qa-{i:03d}", "question": q, "answer": a, "topic": topic})
    candidates = [{"prompt": q, "response": a, "topic": t} for q, a, t in TRAIN_HANDWRITTEN]
    candidates += _method_pairs(topics) + _topic_pairs(topics)
    train, seen = [], set()
    for pair in candidates:
        if pair["prompt"] in seen or pair["response"] in seen or _contaminated(pair, evals):
            continue
        seen.update((pair["prompt"], pair["response"]))
        train.append({"id": f"pydoc-train-{len(train) + 1:03d}", **pair})
    return {"pydoc_qa.jsonl": evals, "pydoc_train.jsonl": train}


def _dump(rows: List[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    files = build()
    for name, rows in files.items():
        target = HERE / name
        if "--check" in argv:
            if not target.exists() or target.read_text(encoding="utf-8") != _dump(rows):
                print(f"{name} is out of date; run python -m llmops_nb.data.eval.build")
                return 1
        else:
            target.write_text(_dump(rows), encoding="utf-8")
        print(f"{name}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
