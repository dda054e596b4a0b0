"""gextui.ui"""
