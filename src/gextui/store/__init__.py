"""gextui.store"""
